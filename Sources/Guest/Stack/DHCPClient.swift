import Wire

/// A DHCPv4 client as a sans-IO state machine (RFC 2131 §4.4, Figure 5).
///
/// It never reads a clock and never sends: `start(now:)`, `handle(_:now:)` and `release(now:)` change its state,
/// `poll(now:)` returns the messages to send (with where to send them) and runs due timers, `nextDeadline` says when
/// to poll next, and `drainEvents()` reports state changes and lease changes. All randomness (xid, jitter) comes
/// from its own seeded generator.
///
/// States: INIT → SELECTING (DISCOVER sent) → REQUESTING (REQUEST for the first valid OFFER) → BOUND (ACK);
/// BOUND → RENEWING at T1 (unicast REQUEST) → REBINDING at T2 (broadcast REQUEST) → INIT at expiry; NAK → INIT.
/// No ARP probe of the offered address is made (RFC 2131 §4.4.1 "SHOULD"), so DHCPDECLINE is never sent.
public struct DHCPClient: Sendable {
    /// Timings and retry limits.
    public struct Configuration: Sendable, Equatable {
        /// The first retransmission delay (RFC 2131 §4.1: "4 seconds").
        public var initialRetransmission: Duration = .seconds(4)
        /// The cap of the doubling delay (RFC 2131 §4.1: "a maximum of 64 seconds").
        public var maximumRetransmission: Duration = .seconds(64)
        /// Each delay is moved by a uniform random amount in ±jitter (RFC 2131 §4.1: "-1 to +1").
        public var jitter: Duration = .seconds(1)
        /// REQUEST retransmissions in REQUESTING before going back to INIT.
        public var requestRetransmissions = 4
        /// The floor of the retransmission delay in RENEWING and REBINDING (RFC 2131 §4.4.5: 60 seconds).
        public var minimumRenewRetransmission: Duration = .seconds(60)
        /// The first DISCOVER is delayed by a uniform random time in 0...this (RFC 2131 §4.4.1 suggests 1–10 s to
        /// desynchronize many clients; the lease test wants none, so the default is zero).
        public var maximumStartDelay: Duration = .zero
        /// Option 55 (RFC 2132 §9.8): mask, router, DNS, domain name, MTU, broadcast, lease, server id, T1, T2.
        public var parameterRequestList: [DHCPOptionCode] = [.subnetMask, .router, .domainNameServer, .domainName,
                                                             .interfaceMTU, .broadcastAddress, .ipAddressLeaseTime,
                                                             .serverIdentifier, .renewalTime, .rebindingTime]
        /// Option 57 (RFC 2132 §9.10).
        public var maximumMessageSize: UInt16 = 1500
        /// A shorter lease time (option 51) is raised to this before T1 and T2 are computed, so a server sending
        /// 0 or a few seconds cannot make one poll run BOUND → RENEWING → REBINDING → INIT and the client storm it
        /// with REQUESTs and DISCOVERs. RFC 2131 sets no floor; 20 s is dhcpcd's `DHCP_MIN_LEASE` (src/dhcp.c).
        public var minimumLeaseTime: Duration = .seconds(20)
        public init() {}
    }

    /// The client states of RFC 2131 Figure 5 (INIT-REBOOT and REBOOTING are not used), plus RELEASED after
    /// `release(now:)`.
    public enum State: String, Sendable, Equatable, CustomStringConvertible {
        case initial = "INIT"
        case selecting = "SELECTING"
        case requesting = "REQUESTING"
        case bound = "BOUND"
        case renewing = "RENEWING"
        case rebinding = "REBINDING"
        case released = "RELEASED"
        public var description: String { rawValue }
    }

    /// One state change, for tracing.
    public struct Transition: Sendable, Equatable, CustomStringConvertible {
        public var from: State
        public var to: State
        public var at: Instant
        public init(from: State, to: State, at: Instant) {
            self.from = from
            self.to = to
            self.at = at
        }
        public var description: String { "DHCP \(from) → \(to) at \(at)" }
    }

    /// Where an outgoing message goes: always from port 68 to port 67.
    public enum Destination: Sendable, Equatable {
        /// 255.255.255.255 and the Ethernet broadcast address.
        case broadcast
        /// A unicast IPv4 address (the server, in RENEWING and for RELEASE), resolved by the stack.
        case unicast(IPv4Address)
    }

    /// A message to send: `source` is the IPv4 source address (0.0.0.0 before a lease, RFC 2131 §4.1).
    public struct Outgoing: Sendable, Equatable {
        public var message: DHCPMessage
        public var source: IPv4Address
        public var destination: Destination
    }

    /// What the client reports besides messages.
    public enum Event: Sendable, Equatable {
        case transition(Transition)
        /// A lease obtained through DISCOVER/OFFER/REQUEST/ACK.
        case bound(DHCPLease, DHCPPhaseTimes)
        /// A lease extended in RENEWING or REBINDING.
        case renewed(DHCPLease)
        /// The lease ended: expiry, DHCPNAK or release.
        case lost(reason: String)
    }

    /// What `handle` did with a message.
    public enum Disposition: Sendable, Equatable {
        case accepted
        case ignored(DropReason)
    }

    public let mac: MACAddress
    public let hostname: String?
    public var configuration: Configuration
    public private(set) var state: State = .initial
    /// The lease in force (BOUND, RENEWING, REBINDING).
    public private(set) var lease: DHCPLease?
    /// The xid of the current exchange.
    public private(set) var transactionID: UInt32 = 0

    var random: SeededGenerator
    /// When the next timer fires (send, retransmit, T1, T2, expiry); nil when idle.
    var deadline: Instant?
    /// Messages queued by `handle` or `release`, returned by the next `poll`.
    var queued: [Outgoing] = []
    var events: [Event] = []
    /// When the current exchange began, for the `secs` field.
    var exchangeStart = Instant.boot
    /// Transmissions in the current state, for the backoff.
    var transmissions = 0
    /// The `secs` of the last DISCOVER, reused by the REQUEST in REQUESTING (RFC 2131 §4.4.1).
    var discoverSeconds: UInt16 = 0
    /// The chosen offer: its address and server identifier.
    var offeredAddress = IPv4Address.any
    var offerServer = IPv4Address.any
    /// When the first REQUEST of the current request/renew/rebind was sent: the lease's start (RFC 2131 §4.4.1).
    var requestStart: Instant?
    var phase = PhaseRecord()

    struct PhaseRecord: Sendable {
        var discoverSent: Instant?
        var offerReceived: Instant?
        var requestSent: Instant?
    }

    public init(mac: MACAddress, hostname: String? = nil, configuration: Configuration = Configuration(), random: SeededGenerator) {
        self.mac = mac
        self.hostname = hostname
        self.configuration = configuration
        self.random = random
    }

    /// The earliest instant at which `poll(now:)` has work; `.boot` (always due) while a message is queued.
    public var nextDeadline: Instant? { queued.isEmpty ? deadline : .boot }

    /// Enters INIT and schedules the first DISCOVER (after `maximumStartDelay` at most). RFC 2131 §4.4.1.
    public mutating func start(now: Instant) {
        let delay = configuration.maximumStartDelay > .zero ? random.duration(in: .zero...configuration.maximumStartDelay) : .zero
        if lease != nil { dropLease(reason: "restarted", now: now) }
        enter(.initial, now: now)
        deadline = now + delay
    }

    /// Events since the last call, in order.
    public mutating func drainEvents() -> [Event] {
        defer { events.removeAll() }
        return events
    }

    /// Gives the lease back: queues a DHCPRELEASE unicast to the server (RFC 2131 §4.4.6) and goes idle until the
    /// next `start(now:)`. Does nothing without a lease.
    public mutating func release(now: Instant) {
        guard let lease else { return }
        transactionID = UInt32.random(in: .min ... .max, using: &random)
        queued.append(Outgoing(message: makeRelease(lease: lease), source: lease.address, destination: .unicast(lease.server)))
        self.lease = nil
        events.append(.lost(reason: "released"))
        enter(.released, now: now)
        deadline = nil
    }

    mutating func enter(_ next: State, now: Instant) {
        guard next != state else { return }
        events.append(.transition(Transition(from: state, to: next, at: now)))
        state = next
        transmissions = 0
    }

    mutating func dropLease(reason: String, now: Instant) {
        lease = nil
        events.append(.lost(reason: reason))
    }

    /// The delay before retransmission number `index` (0 for the first): 4 s doubling to 64 s, ±1 s. RFC 2131 §4.1.
    mutating func backoff(_ index: Int) -> Duration {
        var base = configuration.initialRetransmission
        for _ in 0 ..< min(index, 16) where base < configuration.maximumRetransmission { base = base * 2 }
        base = min(base, configuration.maximumRetransmission)
        let jitter = configuration.jitter
        guard jitter > .zero else { return base }
        return base + random.duration(in: (.zero - jitter)...jitter)
    }

    /// Half the time to `limit`, not below the RFC 2131 §4.4.5 floor, never past `limit`.
    func renewRetransmission(now: Instant, limit: Instant) -> Instant {
        let half = (limit - now) / 2
        return min(now + max(half, configuration.minimumRenewRetransmission), limit)
    }

    /// Seconds since the current exchange began, saturating (the `secs` field, RFC 2131 §2).
    func seconds(now: Instant) -> UInt16 {
        let elapsed = (now - exchangeStart).components.seconds
        return UInt16(clamping: max(elapsed, 0))
    }

    /// Runs due timers and returns the messages to send now, in order.
    public mutating func poll(now: Instant) -> [Outgoing] {
        var out = queued
        queued.removeAll()
        var steps = 0
        while let due = deadline, due <= now, steps < 8 {
            steps += 1
            switch state {
            case .initial:
                transactionID = UInt32.random(in: .min ... .max, using: &random)
                exchangeStart = now
                phase = PhaseRecord(discoverSent: now)
                enter(.selecting, now: now)
                out.append(sendDiscover(now: now))
            case .selecting:
                out.append(sendDiscover(now: now))
            case .requesting:
                if transmissions > configuration.requestRetransmissions {
                    enter(.initial, now: now)
                    deadline = now
                } else {
                    if transmissions == 0 {
                        requestStart = now
                        phase.requestSent = now
                    }
                    let message = makeRequest(kind: .selecting, now: now)
                    deadline = now + backoff(transmissions)
                    transmissions += 1
                    out.append(Outgoing(message: message, source: .any, destination: .broadcast))
                }
            case .bound:
                guard let lease else { enter(.initial, now: now); deadline = now; continue }
                transactionID = UInt32.random(in: .min ... .max, using: &random)
                exchangeStart = now
                requestStart = now
                enter(.renewing, now: now)
                deadline = renewRetransmission(now: now, limit: lease.rebindAt)
                transmissions = 1
                out.append(Outgoing(message: makeRequest(kind: .renewing(lease), now: now), source: lease.address,
                                    destination: .unicast(lease.server)))
            case .renewing:
                guard let lease else { enter(.initial, now: now); deadline = now; continue }
                if now >= lease.rebindAt {
                    enter(.rebinding, now: now)
                    requestStart = now
                    transmissions = 1
                    deadline = renewRetransmission(now: now, limit: lease.expiresAt)
                    out.append(Outgoing(message: makeRequest(kind: .rebinding(lease), now: now), source: lease.address,
                                        destination: .broadcast))
                } else {
                    transmissions += 1
                    deadline = renewRetransmission(now: now, limit: lease.rebindAt)
                    out.append(Outgoing(message: makeRequest(kind: .renewing(lease), now: now), source: lease.address,
                                        destination: .unicast(lease.server)))
                }
            case .rebinding:
                guard let lease else { enter(.initial, now: now); deadline = now; continue }
                if now >= lease.expiresAt {
                    dropLease(reason: "lease expired", now: now)
                    enter(.initial, now: now)
                    deadline = now
                } else {
                    transmissions += 1
                    deadline = renewRetransmission(now: now, limit: lease.expiresAt)
                    out.append(Outgoing(message: makeRequest(kind: .rebinding(lease), now: now), source: lease.address,
                                        destination: .broadcast))
                }
            case .released:
                deadline = nil
            }
        }
        return out
    }

    mutating func sendDiscover(now: Instant) -> Outgoing {
        discoverSeconds = seconds(now: now)
        let message = makeDiscover(seconds: discoverSeconds)
        deadline = now + backoff(transmissions)
        transmissions += 1
        return Outgoing(message: message, source: .any, destination: .broadcast)
    }

    /// Takes a reply from a server (UDP port 68). Replies with another xid or chaddr, or that do not fit the state,
    /// are ignored and the reason returned for counting. RFC 2131 §4.4.1, §4.4.5.
    @discardableResult
    public mutating func handle(_ message: DHCPMessage, now: Instant) -> Disposition {
        guard message.op == .bootReply else { return .ignored(.dhcpUnexpected) }
        guard [.selecting, .requesting, .renewing, .rebinding].contains(state) else { return .ignored(.dhcpUnexpected) }
        guard message.transactionID == transactionID else { return .ignored(.dhcpWrongTransaction) }
        guard message.clientHardwareAddress == mac else { return .ignored(.dhcpWrongHardwareAddress) }
        guard let type = message.messageType else { return .ignored(.dhcpMalformed) }

        switch (state, type) {
        case (.selecting, .offer):
            // An offered address that no host may hold (0/8, loopback, multicast, class E, the subnet's network or
            // broadcast address) is malformed: binding it would break the stack.
            guard message.yourAddress.isUnicastHostAddress(subnetMask: message.subnetMask),
                  let server = message.serverIdentifier else {
                return .ignored(.dhcpMalformed)
            }
            offeredAddress = message.yourAddress
            offerServer = server
            phase.offerReceived = now
            enter(.requesting, now: now)
            deadline = now
            return .accepted

        case (.requesting, .ack):
            if let server = message.serverIdentifier, server != offerServer { return .ignored(.dhcpUnexpected) }
            guard let lease = makeLease(from: message, fallbackServer: offerServer) else { return .ignored(.dhcpMalformed) }
            bind(lease, now: now)
            let times = DHCPPhaseTimes(discoverSent: phase.discoverSent ?? now, offerReceived: phase.offerReceived ?? now,
                                       requestSent: phase.requestSent ?? now, ackReceived: now, bound: now)
            events.append(.bound(lease, times))
            return .accepted

        case (.renewing, .ack), (.rebinding, .ack):
            guard let lease = makeLease(from: message, fallbackServer: self.lease?.server ?? .any) else {
                return .ignored(.dhcpMalformed)
            }
            bind(lease, now: now)
            events.append(.renewed(lease))
            return .accepted

        case (.requesting, .nak):
            if let server = message.serverIdentifier, server != offerServer { return .ignored(.dhcpUnexpected) }
            enter(.initial, now: now)
            deadline = now
            return .accepted

        case (.renewing, .nak), (.rebinding, .nak):
            dropLease(reason: "DHCPNAK from \(message.serverIdentifier.map(String.init(describing:)) ?? "server")", now: now)
            enter(.initial, now: now)
            deadline = now
            return .accepted

        default:
            return .ignored(.dhcpUnexpected)
        }
    }

    mutating func bind(_ lease: DHCPLease, now: Instant) {
        self.lease = lease
        enter(.bound, now: now)
        deadline = lease.renewAt
    }

    /// The lease an ACK grants, measured from the first REQUEST of this exchange; nil when the ACK lacks the address
    /// or the lease time (RFC 2131 Table 3: both MUST be present) or when yiaddr cannot be a host's address
    /// (`isUnicastHostAddress(subnetMask:)`, with the ACK's mask when it sends one). A lease time below
    /// `configuration.minimumLeaseTime` is raised to it (dhcpcd's `DHCP_MIN_LEASE`), and T1/T2 follow from that.
    func makeLease(from message: DHCPMessage, fallbackServer: IPv4Address) -> DHCPLease? {
        guard message.yourAddress.isUnicastHostAddress(subnetMask: message.subnetMask),
              let seconds = message.ipAddressLeaseTime else { return nil }
        let leaseTime = max(Duration.seconds(Int64(seconds)), configuration.minimumLeaseTime)
        let timers = DHCPLease.timers(lease: leaseTime, renewal: message.renewalTime.map { .seconds(Int64($0)) },
                                      rebinding: message.rebindingTime.map { .seconds(Int64($0)) })
        return DHCPLease(address: message.yourAddress,
                         subnetMask: message.subnetMask ?? DHCPLease.defaultMask(for: message.yourAddress),
                         router: message.routers.first, dnsServers: message.domainNameServers,
                         server: message.serverIdentifier ?? fallbackServer,
                         leaseTime: leaseTime, renewalTime: timers.renewal, rebindingTime: timers.rebinding,
                         acquiredAt: requestStart ?? exchangeStart)
    }
}
