import Wire

/// The ARP cache: IPv4 address to MAC, with expiry, pending queues and rate-limited requests.
///
/// RFC 826 (the merge rule), RFC 1122 §2.3.2.1 (no more than one request per second per destination, entries time
/// out), §2.3.2.2 (queue at least the latest packet while resolving). Sans-IO: it decides, the stack sends.
public struct NeighborCache: Sendable {
    /// How long a learned mapping is used before it is discarded and resolved again.
    public var reachableTime: Duration = .seconds(60)
    /// The minimum time between two ARP requests for the same address (RFC 1122 §2.3.2.1).
    public var retransmitInterval: Duration = .seconds(1)
    /// Requests sent for one address before giving up.
    public var maximumAttempts = 3
    /// Packets held per unresolved address; when full the oldest is dropped (RFC 1122 §2.3.2.2 keeps the latest).
    public var maximumQueued = 4

    private enum Entry: Sendable {
        case incomplete(attempts: Int, nextRequest: Instant, queue: [[UInt8]])
        case reachable(MACAddress, expires: Instant)
    }

    private var entries: [IPv4Address: Entry] = [:]

    public init() {}

    /// What `resolve` decided for one packet.
    public enum Resolution: Sendable, Equatable {
        /// The MAC is known: send now.
        case resolved(MACAddress)
        /// Queued; `sendRequest` says whether an ARP request must go out now (first packet for this address).
        case queued(sendRequest: Bool, droppedOldest: Bool)
    }

    /// What `poll` found due.
    public struct Due: Sendable, Equatable {
        /// Addresses to send an ARP request for now.
        public var requests: [IPv4Address] = []
        /// Addresses that did not answer `maximumAttempts` requests, with how many queued packets were dropped.
        public var failures: [(address: IPv4Address, droppedPackets: Int)] = []
        public static func == (a: Due, b: Due) -> Bool {
            a.requests == b.requests && a.failures.map(\.address) == b.failures.map(\.address)
                && a.failures.map(\.droppedPackets) == b.failures.map(\.droppedPackets)
        }
    }

    /// The MAC for `address` if a live mapping exists.
    public func lookup(_ address: IPv4Address, now: Instant) -> MACAddress? {
        if case let .reachable(mac, expires)? = entries[address], now < expires { return mac }
        return nil
    }

    /// Whether `address` is in the table (resolved or being resolved), the RFC 826 "already in my table" test.
    public func contains(_ address: IPv4Address) -> Bool { entries[address] != nil }

    /// Whether a resolution for `address` is in progress.
    public func isResolving(_ address: IPv4Address) -> Bool {
        if case .incomplete? = entries[address] { return true }
        return false
    }

    /// Looks up `address` for sending `packet` (an IPv4 datagram without its Ethernet header); queues it when the
    /// address is not resolved yet.
    public mutating func resolve(_ address: IPv4Address, packet: [UInt8], now: Instant) -> Resolution {
        switch entries[address] {
        case let .reachable(mac, expires)? where now < expires:
            return .resolved(mac)
        case .incomplete(let attempts, let nextRequest, var queue)?:
            var droppedOldest = false
            if queue.count >= maximumQueued {
                queue.removeFirst()
                droppedOldest = true
            }
            queue.append(packet)
            entries[address] = .incomplete(attempts: attempts, nextRequest: nextRequest, queue: queue)
            return .queued(sendRequest: false, droppedOldest: droppedOldest)
        default:
            entries[address] = .incomplete(attempts: 1, nextRequest: now + retransmitInterval, queue: [packet])
            return .queued(sendRequest: true, droppedOldest: false)
        }
    }

    /// Records `address` → `mac` (RFC 826 merge rule: the caller decides whether to create a new entry) and returns
    /// the packets that were waiting for it, in order.
    @discardableResult
    public mutating func update(_ address: IPv4Address, mac: MACAddress, now: Instant) -> [[UInt8]] {
        var released: [[UInt8]] = []
        if case let .incomplete(_, _, queue)? = entries[address] { released = queue }
        entries[address] = .reachable(mac, expires: now + reachableTime)
        return released
    }

    /// Runs due retries and expiries.
    public mutating func poll(now: Instant) -> Due {
        var due = Due()
        for (address, entry) in entries.sorted(by: { $0.key < $1.key }) {
            switch entry {
            case let .reachable(_, expires) where expires <= now:
                entries[address] = nil
            case let .incomplete(attempts, nextRequest, queue) where nextRequest <= now:
                if attempts >= maximumAttempts {
                    entries[address] = nil
                    due.failures.append((address, queue.count))
                } else {
                    entries[address] = .incomplete(attempts: attempts + 1, nextRequest: now + retransmitInterval, queue: queue)
                    due.requests.append(address)
                }
            default:
                break
            }
        }
        return due
    }

    /// The earliest retry, give-up or expiry.
    public var nextDeadline: Instant? {
        var earliest: Instant?
        for entry in entries.values {
            switch entry {
            case let .reachable(_, expires): earliest = earliest.earliest(expires)
            case let .incomplete(_, nextRequest, _): earliest = earliest.earliest(nextRequest)
            }
        }
        return earliest
    }

    /// Forgets every mapping and drops every queued packet (our address changed or was lost: the queued datagrams
    /// carry the old source address). Returns how many packets were dropped.
    ///
    /// `keepingLatestFor`, when given, keeps that one address's entry with only its most recently queued packet:
    /// the DHCPRELEASE that must still reach the server after the address is given up (RFC 2131 §4.4.6).
    @discardableResult
    public mutating func flush(keepingLatestFor kept: IPv4Address? = nil) -> Int {
        var dropped = 0
        var keptEntry: Entry?
        for (address, entry) in entries {
            switch entry {
            case let .incomplete(attempts, nextRequest, queue):
                if address == kept, let latest = queue.last {
                    keptEntry = .incomplete(attempts: attempts, nextRequest: nextRequest, queue: [latest])
                    dropped += queue.count - 1
                } else {
                    dropped += queue.count
                }
            case .reachable:
                if address == kept { keptEntry = entry }
            }
        }
        entries.removeAll()
        if let kept, let keptEntry { entries[kept] = keptEntry }
        return dropped
    }
}
