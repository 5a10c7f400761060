import Wire

/// The guest's IPv6 addresses with their states, lifetimes and duplicate address detection timers.
/// RFC 4862 §5.4 (DAD), §5.5.4 (deprecation), §5.5.3 (lifetimes).
///
/// Sans-IO: `add` makes an address tentative and schedules its DAD; `poll(now:)` says which Neighbor Solicitations
/// DAD must send and which addresses changed state; the stack sends and reports.
struct IPv6AddressTable: Sendable {
    struct Entry: Sendable, Equatable {
        var address: IPv6Address
        var prefixLength: Int
        var origin: IPv6AddressOrigin
        var state: IPv6AddressState
        var createdAt: Instant
        var changedAt: Instant
        /// nil: infinite.
        var validUntil: Instant?
        /// nil: infinite.
        var preferredUntil: Instant?
        /// DAD probes still to send.
        var probesLeft: Int
        /// While tentative: when the next probe goes, or (no probes left) when DAD succeeds.
        var dadDeadline: Instant?
        /// RFC 7217 §6 DAD_Counter the identifier was formed with (stable identifiers; 0 otherwise).
        var dadCounter: UInt8 = 0

        func info() -> IPv6AddressInfo {
            IPv6AddressInfo(address: address, prefixLength: prefixLength, origin: origin, state: state,
                            createdAt: createdAt, changedAt: changedAt,
                            validLifetime: validUntil.map { $0 - changedAt }, preferredLifetime: preferredUntil.map { $0 - changedAt })
        }

        /// Usable as a source and as a destination: DAD passed and not invalid.
        var isAssigned: Bool { state == .preferred || state == .deprecated }
    }

    /// DupAddrDetectTransmits. RFC 4862 §5.1.
    var dupAddrDetectTransmits: Int
    /// RetransTimer: the time between DAD probes and after the last one. RFC 4861 §10.
    var retransTimer: Duration

    /// Autoconfigured (SLAAC) addresses at most, like Linux's max_addresses (16 per interface).
    var maximumAutoconfigured = 16

    /// In the order they were added.
    private(set) var entries: [Entry] = []

    /// Whether another SLAAC address may be formed (fewer than `maximumAutoconfigured`).
    var acceptsAutoconfigured: Bool { entries.lazy.filter { $0.origin == .slaac }.count < maximumAutoconfigured }

    init(dupAddrDetectTransmits: Int, retransTimer: Duration) {
        self.dupAddrDetectTransmits = dupAddrDetectTransmits
        self.retransTimer = retransTimer
    }

    func entry(for address: IPv6Address) -> Entry? { entries.first { $0.address == address } }

    /// The first address of `origin` (the link-local address, a prefix's SLAAC address).
    func first(where predicate: (Entry) -> Bool) -> Entry? { entries.first(where: predicate) }

    /// Adds `address` as tentative, its first DAD probe `delay` from now (RFC 4862 §5.4.2). With
    /// DupAddrDetectTransmits 0 it is preferred at once (§5.4: DAD disabled). Returns its info; nil if the
    /// address is already there (the caller refreshes lifetimes instead).
    mutating func add(_ address: IPv6Address, prefixLength: Int, origin: IPv6AddressOrigin,
                      validLifetime: Duration?, preferredLifetime: Duration?, delay: Duration, now: Instant) -> IPv6AddressInfo? {
        guard entry(for: address) == nil else { return nil }
        var entry = Entry(address: address, prefixLength: prefixLength, origin: origin, state: .tentative,
                          createdAt: now, changedAt: now, validUntil: validLifetime.map { now + $0 },
                          preferredUntil: preferredLifetime.map { now + $0 }, probesLeft: dupAddrDetectTransmits,
                          dadDeadline: now + delay)
        if dupAddrDetectTransmits <= 0 {
            entry.dadDeadline = nil
            entry.state = Self.assignedState(entry, now: now)
        }
        entries.append(entry)
        return entry.info()
    }

    /// What `poll` found due.
    struct Due: Sendable, Equatable {
        /// Tentative addresses whose DAD Neighbor Solicitation goes out now.
        var probes: [IPv6Address] = []
        /// State changes, in order (`.removed` entries are gone from the table).
        var changes: [IPv6AddressInfo] = []
    }

    /// Runs DAD timers (a probe every RetransTimer, success RetransTimer after the last one, RFC 4862 §5.4.3)
    /// and lifetimes (preferred → deprecated, §5.5.4; valid → removed).
    mutating func poll(now: Instant) -> Due {
        var due = Due()
        for index in entries.indices {
            if entries[index].state == .tentative, let deadline = entries[index].dadDeadline, deadline <= now {
                if entries[index].probesLeft > 0 {
                    entries[index].probesLeft -= 1
                    entries[index].dadDeadline = now + retransTimer
                    due.probes.append(entries[index].address)
                } else {
                    entries[index].dadDeadline = nil
                    entries[index].state = Self.assignedState(entries[index], now: now)
                    entries[index].changedAt = now
                    due.changes.append(entries[index].info())
                }
            }
            if entries[index].state == .preferred, let until = entries[index].preferredUntil, until <= now {
                entries[index].state = .deprecated
                entries[index].changedAt = now
                due.changes.append(entries[index].info())
            }
            if let until = entries[index].validUntil, until <= now {
                // A duplicate expires with its valid lifetime too, silently: it was reported as duplicate and its
                // group was left then. Kept forever, it would block the address (a later DHCPv6 lease of it).
                let wasDuplicate = entries[index].state == .duplicate
                entries[index].state = .removed
                entries[index].changedAt = now
                if !wasDuplicate { due.changes.append(entries[index].info()) }
            }
        }
        entries.removeAll { $0.state == .removed }
        return due
    }

    /// The earliest DAD step or lifetime end.
    var nextDeadline: Instant? {
        var earliest: Instant?
        for entry in entries {
            switch entry.state {
            case .tentative: earliest = earliest.earliest(entry.dadDeadline).earliest(entry.validUntil)
            case .preferred: earliest = earliest.earliest(entry.preferredUntil).earliest(entry.validUntil)
            case .deprecated, .duplicate: earliest = earliest.earliest(entry.validUntil)
            case .removed: break
            }
        }
        return earliest
    }

    /// DAD failed for a tentative `address`: it is marked duplicate and never used (RFC 4862 §5.4.5). Nil when
    /// the address is not tentative.
    mutating func markDuplicate(_ address: IPv6Address, now: Instant) -> IPv6AddressInfo? {
        guard let index = entries.firstIndex(where: { $0.address == address && $0.state == .tentative }) else { return nil }
        entries[index].state = .duplicate
        entries[index].dadDeadline = nil
        entries[index].changedAt = now
        return entries[index].info()
    }

    /// Sets the lifetimes of an existing address (a refreshed prefix, a renewed DHCPv6 lease); a deprecated
    /// address whose new preferred lifetime is not zero becomes preferred again (RFC 4862 §5.5.3 e). Returns the
    /// new info when the state changed.
    mutating func setLifetimes(_ address: IPv6Address, validUntil: Instant?, preferredUntil: Instant?, now: Instant) -> IPv6AddressInfo? {
        guard let index = entries.firstIndex(where: { $0.address == address }) else { return nil }
        entries[index].validUntil = validUntil
        entries[index].preferredUntil = preferredUntil
        guard entries[index].isAssigned else { return nil }
        let state = Self.assignedState(entries[index], now: now)
        guard state != entries[index].state else { return nil }
        entries[index].state = state
        entries[index].changedAt = now
        return entries[index].info()
    }

    /// Records the RFC 7217 DAD_Counter `address` was formed with.
    mutating func setDADCounter(_ address: IPv6Address, _ counter: UInt8) {
        guard let index = entries.firstIndex(where: { $0.address == address }) else { return }
        entries[index].dadCounter = counter
    }

    /// Forgets `address` (whatever its state); its info as `.removed`, or nil if absent.
    mutating func remove(_ address: IPv6Address, now: Instant) -> IPv6AddressInfo? {
        guard let index = entries.firstIndex(where: { $0.address == address }) else { return nil }
        var entry = entries.remove(at: index)
        entry.state = .removed
        entry.changedAt = now
        return entry.info()
    }

    /// Preferred, or deprecated when the preferred lifetime has already run out.
    private static func assignedState(_ entry: Entry, now: Instant) -> IPv6AddressState {
        if let until = entry.preferredUntil, until <= now { return .deprecated }
        return .preferred
    }
}
