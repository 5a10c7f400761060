import Wire

/// The IPv6 neighbour cache with Neighbor Unreachability Detection. RFC 4861 §7.2 and §7.3 (Appendix C's state
/// machine): INCOMPLETE (resolving with multicast solicitations), REACHABLE (confirmed within ReachableTime), STALE
/// (unconfirmed, used as is), DELAY (used, waiting DELAY_FIRST_PROBE_TIME for a confirmation), PROBE (unicast
/// solicitations every RetransTimer).
///
/// Sans-IO: the stack asks `resolve` before sending, feeds in what NS/NA/RA tell it, and sends the solicitations
/// `poll(now:)` asks for. The only upper-layer reachability confirmation the guest has is a solicited NA.
///
/// Bounded like Linux's neighbour table (gc_thresh3, net/core/neighbour.c): at most `maximumEntries`; a new entry
/// beyond that evicts the least recently used STALE entry, else the least recently used entry (counted in
/// `evictions`). Timers live in a min-heap (stale heap items are skipped), so `poll` and `nextDeadline` cost
/// O(log n) per due timer rather than a sort or scan of every entry.
struct NeighborCacheV6: Sendable {
    enum State: String, Sendable, Equatable { case incomplete, reachable, stale, delay, probe }

    struct Entry: Sendable {
        var state: State
        var mac: MACAddress?
        var isRouter = false
        /// IPv6 packets (no Ethernet header) waiting for resolution, oldest first.
        var queue: [[UInt8]] = []
        var probesSent = 0
        var timer: Instant?
        /// The source of the packet that started resolution: the solicitation's source (§7.2.2).
        var solicitationSource: IPv6Address = .unspecified
        /// Last created, used or confirmed: the eviction order.
        var lastUsed: Instant = .boot
    }

    /// MAX_MULTICAST_SOLICIT, MAX_UNICAST_SOLICIT, DELAY_FIRST_PROBE_TIME. RFC 4861 §10.
    var maxMulticastSolicit = 3
    var maxUnicastSolicit = 3
    var delayFirstProbeTime: Duration = .seconds(5)
    /// Packets held per unresolved neighbour; when full the oldest is dropped (§7.2.2: at least one).
    var maximumQueued = 4
    var retransTimer: Duration
    /// ReachableTime, already randomized by the caller (BaseReachableTime × 0.5…1.5, §6.3.2).
    var reachableTime: Duration

    /// gc_thresh3: the hard limit on entries (Linux's default is 1024; 512 fits one guest interface).
    var maximumEntries = 512
    /// Entries evicted to make room.
    private(set) var evictions = 0

    private(set) var entries: [IPv6Address: Entry] = [:]
    /// (deadline, address) min-heap; an item whose entry no longer has that timer is skipped.
    private var timers = TimerHeap()

    init(retransTimer: Duration, reachableTime: Duration) {
        self.retransTimer = retransTimer
        self.reachableTime = reachableTime
    }

    func state(of address: IPv6Address) -> State? { entries[address]?.state }
    func linkLayerAddress(of address: IPv6Address) -> MACAddress? { entries[address]?.mac }

    enum Resolution: Sendable, Equatable {
        case send(MACAddress)
        /// Queued; `solicit`: a multicast solicitation must go out now (resolution just started).
        case queued(solicit: Bool, droppedOldest: Bool)
    }

    /// A solicitation to send: multicast to the solicited-node group when `destinationMAC` is nil (INCOMPLETE),
    /// unicast to the cached MAC otherwise (PROBE). §7.2.2, §7.3.3.
    struct Solicitation: Sendable, Equatable {
        var target: IPv6Address
        var source: IPv6Address
        var destinationMAC: MACAddress?
    }

    /// Looks `target` up for `packet` sent from `source`. §7.2.2 (start resolution), §7.3.3 (a STALE entry is
    /// used and goes to DELAY).
    mutating func resolve(_ target: IPv6Address, packet: [UInt8], source: IPv6Address, now: Instant) -> Resolution {
        guard var entry = entries[target] else {
            makeRoom(for: target)
            store(Entry(state: .incomplete, queue: [packet], probesSent: 1, timer: now + retransTimer,
                        solicitationSource: source, lastUsed: now), for: target)
            return .queued(solicit: true, droppedOldest: false)
        }
        entry.lastUsed = now
        if entry.state == .incomplete {
            var dropped = false
            if entry.queue.count >= maximumQueued {
                entry.queue.removeFirst()
                dropped = true
            }
            entry.queue.append(packet)
            store(entry, for: target)
            return .queued(solicit: false, droppedOldest: dropped)
        }
        if entry.state == .stale {
            entry.state = .delay
            entry.timer = now + delayFirstProbeTime
        }
        store(entry, for: target)
        return .send(entry.mac!)
    }

    /// What `poll` found due.
    struct Due: Sendable {
        var solicitations: [Solicitation] = []
        /// Neighbours that did not answer, with the packets dropped; `wasRouter` for the default router list.
        var failures: [(address: IPv6Address, droppedPackets: Int, wasRouter: Bool)] = []
    }

    /// Runs retransmissions and state timers (§7.3.3).
    mutating func poll(now: Instant) -> Due {
        var due = Due()
        while let (timer, address) = timers.minimum, timer <= now {
            timers.removeMinimum()
            guard var entry = entries[address], entry.timer == timer else { continue }
            switch entry.state {
            case .incomplete:
                if entry.probesSent >= maxMulticastSolicit {
                    entries[address] = nil
                    due.failures.append((address, entry.queue.count, entry.isRouter))
                    continue
                }
                entry.probesSent += 1
                entry.timer = now + retransTimer
                due.solicitations.append(Solicitation(target: address, source: entry.solicitationSource, destinationMAC: nil))
            case .reachable:
                entry.state = .stale
                entry.timer = nil
            case .delay:
                entry.state = .probe
                entry.probesSent = 1
                entry.timer = now + retransTimer
                due.solicitations.append(Solicitation(target: address, source: entry.solicitationSource, destinationMAC: entry.mac))
            case .probe:
                if entry.probesSent >= maxUnicastSolicit {
                    entries[address] = nil
                    due.failures.append((address, 0, entry.isRouter))
                    continue
                }
                entry.probesSent += 1
                entry.timer = now + retransTimer
                due.solicitations.append(Solicitation(target: address, source: entry.solicitationSource, destinationMAC: entry.mac))
            case .stale:
                entry.timer = nil
            }
            store(entry, for: address)
        }
        if timers.count > 4 * entries.count + 64 {
            timers = TimerHeap(entries.compactMap { address, entry in entry.timer.map { ($0, address) } })
        }
        return due
    }

    /// The earliest timer; may be a superseded one (then `poll` at that time just skips it).
    var nextDeadline: Instant? { timers.minimum?.at }

    /// Saves `entry`, scheduling its timer when it changed.
    private mutating func store(_ entry: Entry, for address: IPv6Address) {
        let previous = entries.updateValue(entry, forKey: address)?.timer
        if let timer = entry.timer, timer != previous { timers.insert((timer, address)) }
    }

    /// Below `maximumEntries` nothing happens; at it, the least recently used STALE entry (else the least recently
    /// used one) is evicted, its queued packets with it.
    private mutating func makeRoom(for address: IPv6Address) {
        guard entries[address] == nil, entries.count >= maximumEntries else { return }
        var victim: (address: IPv6Address, entry: Entry)?
        for (candidate, entry) in entries {
            guard let current = victim else { victim = (candidate, entry); continue }
            let better = (entry.state == .stale) != (current.entry.state == .stale)
                ? entry.state == .stale
                : (entry.lastUsed, candidate) < (current.entry.lastUsed, current.address)
            if better { victim = (candidate, entry) }
        }
        guard let victim else { return }
        entries[victim.address] = nil
        evictions += 1
    }

    /// A source link-layer address from an NS, RS or RA (or a redirect): §7.2.3 and §6.3.4. A new entry is STALE;
    /// a different MAC makes an entry STALE; an INCOMPLETE entry becomes STALE and its queue is released (§7.2.3).
    /// `isRouter` is set for an RA's source. Returns the released packets with the MAC to send them to.
    mutating func learn(_ address: IPv6Address, mac: MACAddress, isRouter: Bool? = nil, now: Instant) -> [[UInt8]] {
        if entries[address] == nil { makeRoom(for: address) }
        var entry = entries[address] ?? Entry(state: .stale, mac: mac, lastUsed: now)
        var released: [[UInt8]] = []
        if entry.state == .incomplete {
            released = entry.queue
            entry.queue = []
            entry.state = .stale
            entry.timer = nil
        } else if entry.mac != mac {
            entry.state = .stale
            entry.timer = nil
        }
        entry.mac = mac
        if let isRouter { entry.isRouter = isRouter }
        store(entry, for: address)
        return released
    }

    /// What a Neighbor Advertisement did. §7.2.5.
    struct AdvertisementResult: Sendable {
        var released: [[UInt8]] = []
        var mac: MACAddress?
        /// The IsRouter flag went from true to false: remove it from the default router list (§7.2.5).
        var noLongerRouter = false
        /// No entry: the advertisement is silently discarded (§7.2.5).
        var unknown = false
    }

    /// Applies a Neighbor Advertisement for `target` (already validated, §7.1.2). RFC 4861 §7.2.5.
    mutating func advertisement(_ target: IPv6Address, targetLinkLayerAddress tlla: MACAddress?, solicited: Bool,
                                override: Bool, router: Bool, now: Instant) -> AdvertisementResult {
        guard var entry = entries[target] else { return AdvertisementResult(unknown: true) }
        var result = AdvertisementResult()
        if entry.state == .incomplete {
            // Without a target link-layer address the advertisement is useless here.
            guard let tlla else { return result }
            entry.mac = tlla
            entry.state = solicited ? .reachable : .stale
            entry.timer = solicited ? now + reachableTime : nil
            entry.isRouter = router
            result.released = entry.queue
            entry.queue = []
        } else {
            let different = tlla != nil && tlla != entry.mac
            if !override && different {
                // A REACHABLE entry becomes STALE; the advertisement is not otherwise used.
                if entry.state == .reachable {
                    entry.state = .stale
                    entry.timer = nil
                }
                store(entry, for: target)
                result.mac = entry.mac
                return result
            }
            if let tlla { entry.mac = tlla }
            if solicited {
                entry.state = .reachable
                entry.timer = now + reachableTime
            } else if different {
                entry.state = .stale
                entry.timer = nil
            }
            if entry.isRouter && !router { result.noLongerRouter = true }
            entry.isRouter = router
        }
        entry.lastUsed = now
        store(entry, for: target)
        result.mac = entry.mac
        return result
    }

    /// Forgets `address` (a router that went away keeps no state); returns the packets dropped.
    @discardableResult
    mutating func remove(_ address: IPv6Address) -> Int {
        entries.removeValue(forKey: address)?.queue.count ?? 0
    }
}

/// A binary min-heap of (deadline, address), ordered by deadline then address (deterministic).
struct TimerHeap: Sendable {
    private var items: [(at: Instant, address: IPv6Address)] = []

    init() {}
    init(_ items: [(Instant, IPv6Address)]) { for item in items { insert(item) } }

    var count: Int { items.count }
    var minimum: (at: Instant, address: IPv6Address)? { items.first }

    private static func less(_ a: (at: Instant, address: IPv6Address), _ b: (at: Instant, address: IPv6Address)) -> Bool {
        a.at != b.at ? a.at < b.at : a.address < b.address
    }

    mutating func insert(_ item: (Instant, IPv6Address)) {
        items.append((item.0, item.1))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeMinimum() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, Self.less(items[left], items[smallest]) { smallest = left }
            if right < items.count, Self.less(items[right], items[smallest]) { smallest = right }
            guard smallest != parent else { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
