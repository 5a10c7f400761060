import Wire

/// The host side of MLDv2 (RFC 3810 §6): the groups the guest listens to, state-change reports when it joins or
/// leaves, and current-state reports answering queries.
///
/// Every group is joined in EXCLUDE mode with no sources ("all sources"), which is what a host that does not use
/// source filtering does. The all-nodes group ff02::1 is always joined and never reported, nor is any group of
/// scope 0 or 1 (§6). Sans-IO: `poll(now:random:)` returns the reports to send; the stack sends them to ff02::16
/// with hop limit 1 and a Router Alert option.
struct MulticastListener: Sendable {
    /// Robustness Variable: each state change is reported this many times. RFC 3810 §9.1.
    var robustness: Int
    /// Unsolicited Report Interval: the upper bound of the random gap between them. RFC 3810 §9.11.
    var unsolicitedReportInterval: Duration

    /// Joined groups and how many users each has (a link-local and a SLAAC address share a solicited-node group).
    private(set) var memberships: [IPv6Address: Int] = [:]
    /// Groups with state-change records still to send: the record type, how many more times, and when next.
    private(set) var pendingChanges: [IPv6Address: (type: MLDv2RecordType, remaining: Int, at: Instant)] = [:]
    var nextChangeReport: Instant? {
        var earliest: Instant?
        for change in pendingChanges.values { earliest = earliest.earliest(change.at) }
        return earliest
    }
    /// Sources remembered per pending group-and-source answer; beyond, the answer covers the whole group
    /// (MODE_IS_EXCLUDE {}, true of a listener to every source).
    var maximumQuerySources = 64
    /// A pending answer to a general query. RFC 3810 §6.2 case 1.
    private(set) var generalResponse: Instant?
    /// Pending answers to group (and group-and-source) specific queries. §6.2 cases 2 and 3.
    private(set) var groupResponses: [IPv6Address: (at: Instant, sources: [IPv6Address])] = [:]

    /// Older Version Querier Present: until when an MLDv1 querier was heard. RFC 3810 §8.2.1.
    private(set) var olderVersionQuerierUntil: Instant?
    /// Older Version Querier Present Timeout: Robustness × Query Interval (125 s) + Query Response Interval
    /// (10 s). RFC 3810 §9.12.
    var olderVersionQuerierPresentTimeout: Duration { .seconds(125) * robustness + .seconds(10) }

    /// MLDv1 compatibility mode (RFC 3810 §8.2): an MLDv1 query was heard within the timeout; reports then go as
    /// MLDv1 Reports and Dones (RFC 2710).
    func isVersion1Mode(now: Instant) -> Bool { olderVersionQuerierUntil.map { $0 > now } ?? false }

    /// An MLDv1 query was heard: (re)starts the Older Version Querier Present timer. RFC 3810 §8.2.1.
    mutating func olderVersionQuerierHeard(now: Instant) {
        olderVersionQuerierUntil = now + olderVersionQuerierPresentTimeout
    }

    init(robustness: Int, unsolicitedReportInterval: Duration) {
        self.robustness = max(robustness, 1)
        self.unsolicitedReportInterval = unsolicitedReportInterval
    }

    /// Every group the interface listens to, sorted, ff02::1 included.
    var groups: [IPv6Address] { (Set(memberships.keys).union([.allNodes])).sorted() }

    /// Whether one of `groups` maps to `mac` (RFC 2464 §7), without building the list.
    func listens(toMAC mac: MACAddress) -> Bool {
        IPv6Address.allNodes.multicastMAC == mac || memberships.keys.contains { $0.multicastMAC == mac }
    }

    /// Whether frames to `group` are for us.
    func isMember(_ group: IPv6Address) -> Bool { group == .allNodes || memberships[group] != nil }

    /// RFC 3810 §6: never report ff02::1 nor groups of scope 0 (reserved) or 1 (interface-local).
    static func isReportable(_ group: IPv6Address) -> Bool {
        guard let scope = group.multicastScope else { return false }
        return group != .allNodes && scope >= 2
    }

    /// One more user of `group`. True when the group list changed (the first user): a CHANGE_TO_EXCLUDE_MODE
    /// record is then reported after `reportDelay` and `robustness − 1` more times (§6.1). The group is listened
    /// to at once; only the report waits (RFC 4862 §5.4.2: a solicited-node join is delayed by the same random
    /// 0…MAX_RTR_SOLICITATION_DELAY as the DAD probe).
    mutating func join(_ group: IPv6Address, reportDelay: Duration = .zero, now: Instant) -> Bool {
        memberships[group, default: 0] += 1
        guard memberships[group] == 1 else { return false }
        scheduleChange(group, type: .changeToExcludeMode, at: now + reportDelay)
        return true
    }

    /// One user fewer. True when the group list changed (the last user left): CHANGE_TO_INCLUDE_MODE with no
    /// sources, reported the same way.
    mutating func leave(_ group: IPv6Address, now: Instant) -> Bool {
        guard let users = memberships[group] else { return false }
        if users > 1 {
            memberships[group] = users - 1
            return false
        }
        memberships[group] = nil
        groupResponses[group] = nil
        scheduleChange(group, type: .changeToIncludeMode, at: now)
        return true
    }

    private mutating func scheduleChange(_ group: IPv6Address, type: MLDv2RecordType, at: Instant) {
        guard Self.isReportable(group) else { return }
        // A new change replaces any pending one for the group and restarts its retransmissions (§6.1).
        pendingChanges[group] = (type, robustness, at)
    }

    /// A query (already validated). `group` is `::` for a general query; `maximumResponseDelay` in milliseconds.
    /// The answer is scheduled at a random time in [0, Maximum Response Delay], keeping an earlier pending answer
    /// (RFC 3810 §6.2).
    mutating func receiveQuery(group: IPv6Address, sources: [IPv6Address], maximumResponseDelay: Int,
                               now: Instant, random: inout SeededGenerator) {
        let delay = random.duration(in: .zero ... .milliseconds(Int64(max(maximumResponseDelay, 0))))
        let at = now + delay
        if group.isUnspecified {
            if generalResponse.map({ $0 > at }) ?? true { generalResponse = at }
            return
        }
        guard memberships[group] != nil, Self.isReportable(group) else { return }
        // §6.2 case 1: a general response due earlier covers this group.
        if let general = generalResponse, general <= at { return }
        if var pending = groupResponses[group] {
            // Sources accumulate; an earlier time is kept; a group-specific query clears the source list.
            pending.sources = sources.isEmpty || pending.sources.isEmpty ? [] : Array(Set(pending.sources + sources)).sorted()
            if pending.sources.count > maximumQuerySources { pending.sources = [] }
            pending.at = min(pending.at, at)
            groupResponses[group] = pending
        } else {
            groupResponses[group] = (at, sources.count > maximumQuerySources ? [] : sources)
        }
    }

    /// The reports due at `now`: state changes, then query answers.
    mutating func poll(now: Instant, random: inout SeededGenerator) -> [MLDv2Report] {
        var reports: [MLDv2Report] = []
        if let due = nextChangeReport, due <= now {
            let dueGroups = pendingChanges.filter { $0.value.at <= now }.keys.sorted()
            let records = dueGroups.map { group in
                MLDv2MulticastAddressRecord(recordType: pendingChanges[group]!.type, multicastAddress: group)
            }
            for group in dueGroups {
                pendingChanges[group]!.remaining -= 1
                if pendingChanges[group]!.remaining <= 0 { pendingChanges[group] = nil }
            }
            // One random gap for the retransmissions of the groups just reported (drawn only when some remain).
            let again = dueGroups.filter { pendingChanges[$0] != nil }
            if !again.isEmpty {
                let next = now + random.duration(in: .zero ... unsolicitedReportInterval)
                for group in again { pendingChanges[group]!.at = next }
            }
            if !records.isEmpty { reports.append(MLDv2Report(records: records)) }
        }
        if let due = generalResponse, due <= now {
            generalResponse = nil
            // §6.3: MODE_IS_EXCLUDE with no sources for every reportable group.
            let records = memberships.keys.filter(Self.isReportable).sorted().map {
                MLDv2MulticastAddressRecord(recordType: .modeIsExclude, multicastAddress: $0)
            }
            if !records.isEmpty { reports.append(MLDv2Report(records: records)) }
        }
        let dueGroups = groupResponses.filter { $0.value.at <= now }.keys.sorted()
        if !dueGroups.isEmpty {
            // §6.3: in EXCLUDE {} mode, a group-specific query gets MODE_IS_EXCLUDE {}, a group-and-source query
            // gets MODE_IS_INCLUDE with the queried sources (all of them are listened to).
            let records = dueGroups.map { group -> MLDv2MulticastAddressRecord in
                let sources = groupResponses[group]!.sources
                return MLDv2MulticastAddressRecord(recordType: sources.isEmpty ? .modeIsExclude : .modeIsInclude,
                                                   multicastAddress: group, sources: sources)
            }
            for group in dueGroups { groupResponses[group] = nil }
            reports.append(MLDv2Report(records: records))
        }
        return reports
    }

    /// The earliest report due.
    var nextDeadline: Instant? {
        var earliest = nextChangeReport.earliest(generalResponse)
        for response in groupResponses.values { earliest = earliest.earliest(response.at) }
        return earliest
    }
}
