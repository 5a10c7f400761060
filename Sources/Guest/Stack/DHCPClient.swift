import Wire

/// A DHCPv4 client as a sans-IO state machine (RFC 2131 §4.4, Figure 5).
///
/// It never reads a clock and never sends: `start(now:)`, `handle(_:now:)` and `release(now:)` change its state,
/// `poll(now:)` returns the messages to send (with where to send them) and runs due timers, `nextDeadline` says when
/// to poll next, and `drainEvents()` reports state changes and lease changes. All randomness (xid, jitter) comes
/// from its own seeded generator.
///
/// States: INIT → SELECTING (DISCOVER sent) → REQUESTING (REQUEST for the first valid OFFER) → BOUND (ACK);
/// with a remembered lease INIT-REBOOT → REBOOTING (broadcast REQUEST for the old address) → BOUND, or INIT on NAK or
/// after `rebootRetransmissions`; with rapid commit (RFC 4039) SELECTING → BOUND on an ACK carrying option 80;
/// BOUND → RENEWING at T1 (unicast REQUEST) → REBINDING at T2 (broadcast REQUEST) → INIT at expiry. A DHCPNAK in any
/// state with a REQUEST outstanding restarts at INIT with dhcpcd's backoff (`nakBackoffInitial`).
///
/// With `configuration.acd`, an ACK leads to PROBING: the address is checked with RFC 5227 probes
/// (`AddressConflictDetection`) and bound only when claimed; a conflict sends DHCPDECLINE (RFC 2131 §4.4.1) and
/// restarts after `conflictRestartDelay`; once bound, conflicts are defended (RFC 5227 §2.4 (b)). The ARP packets
/// to send are taken with `drainARP()` after each `poll`, and received ARP packets go to `handleARP(_:now:)`.
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
        /// Option 55 (RFC 2132 §9.8): mask, router, DNS, domain name, MTU, broadcast, NTP, domain search (RFC 3397),
        /// classless static routes (RFC 3442), lease, server id, T1, T2. 108 is added with `ipv6OnlyPreferred`.
        public var parameterRequestList: [DHCPOptionCode] = [.subnetMask, .router, .domainNameServer, .domainName,
                                                             .interfaceMTU, .broadcastAddress, .ntpServers,
                                                             .domainSearch, .classlessStaticRoute,
                                                             .ipAddressLeaseTime, .serverIdentifier, .renewalTime,
                                                             .rebindingTime]
        /// Option 57 (RFC 2132 §9.10).
        public var maximumMessageSize: UInt16 = 1500
        /// A shorter lease time (option 51) is raised to this before T1 and T2 are computed, so a server sending
        /// 0 or a few seconds cannot make one poll run BOUND → RENEWING → REBINDING → INIT and the client storm it
        /// with REQUESTs and DISCOVERs. RFC 2131 sets no floor; 20 s is dhcpcd's `DHCP_MIN_LEASE` (src/dhcp.c).
        public var minimumLeaseTime: Duration = .seconds(20)
        /// A lease the client held before (from a lease file): `start(now:)` goes through INIT-REBOOT and asks for its
        /// `address` again (RFC 2131 §3.2, §4.3.2). Only `address` and `server` (the fallback server identifier)
        /// are used; the lease tool decides whether the lease is still worth asking for.
        public var rememberedLease: DHCPLease?
        /// REQUEST retransmissions in REBOOTING (4 s, 8 s, … as §4.1) before giving up and going to INIT.
        public var rebootRetransmissions = 2
        /// Option 50 in the DISCOVER (RFC 2131 §4.4.1: the client MAY suggest an address); `--request-ip`.
        public var requestedAddress: IPv4Address?
        /// Option 61. RFC 2132 §9.14, RFC 4361.
        public var clientIdentifier: DHCPClientIdentifier = .hardwareAddress
        /// Send option 80 in the DISCOVER and bind on an ACK carrying it. RFC 4039.
        public var rapidCommit = false
        /// Ask for option 108 and act on it: an OFFER carrying it stops DHCPv4 for V6ONLY_WAIT (at least
        /// MIN_V6ONLY_WAIT, 300 s). RFC 8925 §3.2. When false, option 108 is still parsed and shown on the lease.
        public var ipv6OnlyPreferred = false
        /// RFC 5227 conflict detection after the ACK (probe, announce, defend). Off by default.
        public var acd = false
        /// The wait in INIT after a DHCPDECLINE or after giving up a conflicting address (RFC 2131 §3.1 item 5 and
        /// §4.4.1: "a minimum of ten seconds"); tests may shorten it. From RFC 5227 MAX_CONFLICTS conflicts on, the
        /// wait is at least RATE_LIMIT_INTERVAL.
        public var conflictRestartDelay: Duration = .seconds(10)
        /// How many declined or abandoned addresses are remembered and not accepted again (the most recent ones).
        public var declinedAddressMemory = 8
        /// The wait in INIT after the second DHCPNAK in a row; it doubles with each further NAK up to
        /// `nakBackoffMaximum`, and the first NAK restarts at once. dhcpcd, src/dhcp.c (`nakoff`, NAKOFF_MAX 60 s).
        public var nakBackoffInitial: Duration = .seconds(1)
        public var nakBackoffMaximum: Duration = .seconds(60)
        /// Treat every lease as at most this long (T1 and T2 recomputed from it), so renewal and rebinding can be
        /// tested quickly; `--lease-cap`. It wins over `minimumLeaseTime`.
        public var leaseCap: Duration?
        /// Set the BROADCAST bit (RFC 2131 §4.1), so servers broadcast their replies instead of unicasting them to
        /// the offered address. Many identities behind one card want it: a unicast reply makes the server add a
        /// neighbour entry per client (dnsmasq writes one with SIOCSARP), and the kernel's table is shared by all
        /// namespaces (gc_thresh3, 1024 by default).
        public var requestBroadcastReplies = false
        public init() {}
    }

    /// What the client has done since it was made (the lease tool's summary).
    public struct Counters: Sendable, Equatable {
        /// DHCPNAKs accepted (any state).
        public var naks = 0
        /// DHCPDECLINEs sent after a conflict while probing.
        public var declines = 0
        /// DISCOVER and REQUEST retransmissions (any state).
        public var retransmissions = 0
        /// Conflicts while bound answered with one defensive announcement (RFC 5227 §2.4 (b)).
        public var conflictsDefended = 0
        /// Bound addresses given up after a second conflict within DEFEND_INTERVAL (RFC 5227 §2.4 (b)).
        public var addressesAbandoned = 0
        public init() {}
    }

    /// The client states of RFC 2131 Figure 5, plus PROBING (the RFC 5227 check between the ACK and BOUND, which
    /// §4.4.1 leaves to the client) and RELEASED after `release(now:)`.
    public enum State: String, TracedState {
        public static let machineName = "DHCP"
        case initial = "INIT"
        case selecting = "SELECTING"
        case requesting = "REQUESTING"
        case initReboot = "INIT-REBOOT"
        case rebooting = "REBOOTING"
        case probing = "PROBING"
        case bound = "BOUND"
        case renewing = "RENEWING"
        case rebinding = "REBINDING"
        case released = "RELEASED"
        public var description: String { rawValue }
    }

    /// One state change, for tracing.
    public typealias Transition = StateTransition<State>

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
        /// The lease ended: expiry, DHCPNAK, release, or an address conflict given up (RFC 5227 §2.4 (b)).
        case lost(reason: String)
        /// A DHCPNAK was accepted in `state` (before the transition to INIT), with its server and option 56 text.
        case nak(in: State, server: IPv4Address?, message: String?)
        /// A conflict while probing: DHCPDECLINE sent for `address` (RFC 2131 §4.4.1, RFC 5227 §2.1.1).
        case declined(IPv4Address, reason: String)
        /// A conflict while bound answered with one announcement (RFC 5227 §2.4 (b)); `by` is the other host's MAC.
        case conflictDefended(IPv4Address, by: MACAddress)
        /// An OFFER carried option 108 and `ipv6OnlyPreferred` is set: DHCPv4 pauses for `wait` (RFC 8925 §3.2).
        case ipv6OnlyPreferred(wait: Duration)
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
    public internal(set) var transactionID: UInt32 = 0
    public internal(set) var counters = Counters()
    /// The address check in progress (PROBING) or defending the bound address; nil without `configuration.acd`.
    public internal(set) var conflictDetection: AddressConflictDetection?
    /// Addresses declined or abandoned, most recent last (at most `declinedAddressMemory`); offers of them are
    /// ignored and they are never requested.
    public internal(set) var declinedAddresses: [IPv4Address] = []

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
    /// ARP probes and announcements for the stack to broadcast, taken by `drainARP()`.
    var arpQueue: [ARPMessage] = []
    /// The ACKed lease while PROBING, with its phase times.
    var pendingLease: DHCPLease?
    var pendingTimes: DHCPPhaseTimes?
    /// The address INIT-REBOOT asks for; cleared once it fails.
    var rebootAddress: IPv4Address?
    /// NAKs since the last bind, for the backoff.
    var naksInARow = 0
    /// Conflicts (declines and abandons) so far, for RFC 5227 MAX_CONFLICTS.
    var conflicts = 0

    struct PhaseRecord: Sendable {
        var discoverSent: Instant?
        var offerReceived: Instant?
        var requestSent: Instant?
        var retransmissions = 0
    }

    public init(mac: MACAddress, hostname: String? = nil, configuration: Configuration = Configuration(), random: SeededGenerator) {
        self.mac = mac
        self.hostname = hostname
        self.configuration = configuration
        self.random = random
    }

    /// The earliest instant at which `poll(now:)` has work (a DHCP timer or the address check's); `.boot` (always
    /// due) while a message is queued.
    public var nextDeadline: Instant? {
        guard queued.isEmpty else { return .boot }
        return deadline.earliest(conflictDetection?.nextDeadline)
    }

    /// Enters INIT and schedules the first DISCOVER (after `maximumStartDelay` at most), or INIT-REBOOT for
    /// `configuration.rememberedLease` unless its address was declined. RFC 2131 §4.4.1, §3.2.
    public mutating func start(now: Instant) {
        let delay = configuration.maximumStartDelay > .zero ? random.duration(in: .zero...configuration.maximumStartDelay) : .zero
        if lease != nil { dropLease(reason: "restarted", now: now) }
        pendingLease = nil
        pendingTimes = nil
        conflictDetection = nil
        rebootAddress = configuration.rememberedLease?.address
        if let address = rebootAddress, declinedAddresses.contains(address) { rebootAddress = nil }
        enter(rebootAddress == nil ? .initial : .initReboot, now: now)
        deadline = now + delay
    }

    /// ARP packets to broadcast (probes, announcements), produced by `poll` and `handleARP`, in order.
    public mutating func drainARP() -> [ARPMessage] {
        defer { arpQueue.removeAll() }
        return arpQueue
    }

    /// Events since the last call, in order.
    public mutating func drainEvents() -> [Event] {
        defer { events.removeAll() }
        return events
    }

    /// Gives the lease back: queues a DHCPRELEASE unicast to the server (RFC 2131 §4.4.6) and goes idle until the
    /// next `start(now:)`. Does nothing without a lease.
    /// While PROBING (an ACKed address not yet in use) the RELEASE is broadcast from 0.0.0.0, since the address
    /// cannot be used as a source yet.
    public mutating func release(now: Instant) {
        if lease == nil, let pending = pendingLease {
            transactionID = UInt32.random(in: .min ... .max, using: &random)
            queued.append(Outgoing(message: makeRelease(lease: pending), source: .any, destination: .broadcast))
            pendingLease = nil
            pendingTimes = nil
            conflictDetection = nil
            enter(.released, now: now)
            deadline = nil
            return
        }
        guard let lease else { return }
        transactionID = UInt32.random(in: .min ... .max, using: &random)
        queued.append(Outgoing(message: makeRelease(lease: lease), source: lease.address, destination: .unicast(lease.server)))
        self.lease = nil
        conflictDetection = nil
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
        conflictDetection = nil
        events.append(.lost(reason: reason))
    }

    /// A new exchange from INIT or INIT-REBOOT: a fresh xid, `secs` counted from now, fresh phase times.
    mutating func beginExchange(now: Instant) {
        transactionID = UInt32.random(in: .min ... .max, using: &random)
        exchangeStart = now
        requestStart = nil
        phase = PhaseRecord()
    }

    /// Counts a retransmission of the current exchange (RFC 2131 §4.1).
    mutating func countRetransmission() {
        counters.retransmissions += 1
        phase.retransmissions += 1
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
    /// ARP probes and announcements due go to `drainARP()`.
    public mutating func poll(now: Instant) -> [Outgoing] {
        pollConflictDetection(now: now)
        var out = queued
        queued.removeAll()
        var steps = 0
        while let due = deadline, due <= now, steps < 8 {
            steps += 1
            switch state {
            case .initial:
                beginExchange(now: now)
                phase.discoverSent = now
                enter(.selecting, now: now)
                out.append(sendDiscover(now: now))
            case .selecting:
                countRetransmission()
                out.append(sendDiscover(now: now))
            case .initReboot:
                beginExchange(now: now)
                requestStart = now
                phase.requestSent = now
                enter(.rebooting, now: now)
                out.append(sendRebootRequest(now: now))
            case .rebooting:
                if transmissions > configuration.rebootRetransmissions {
                    // RFC 2131 §3.2: no answer to the INIT-REBOOT REQUEST; ask for a new address.
                    rebootAddress = nil
                    enter(.initial, now: now)
                    deadline = now
                } else {
                    countRetransmission()
                    out.append(sendRebootRequest(now: now))
                }
            case .probing:
                deadline = nil   // the address check drives PROBING
            case .requesting:
                if transmissions > configuration.requestRetransmissions {
                    enter(.initial, now: now)
                    deadline = now
                } else {
                    if transmissions == 0 {
                        requestStart = now
                        phase.requestSent = now
                    } else {
                        countRetransmission()
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
                    counters.retransmissions += 1
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
                    counters.retransmissions += 1
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

    /// The INIT-REBOOT REQUEST (RFC 2131 §4.3.2): broadcast, ciaddr 0, option 50 = the remembered address, no 54.
    mutating func sendRebootRequest(now: Instant) -> Outgoing {
        let message = makeRequest(kind: .rebooting(rebootAddress ?? .any), now: now)
        deadline = now + backoff(transmissions)
        transmissions += 1
        return Outgoing(message: message, source: .any, destination: .broadcast)
    }

    /// Takes a reply from a server (UDP port 68). Replies with another xid or chaddr, or that do not fit the state,
    /// are ignored and the reason returned for counting. RFC 2131 §4.4.1, §4.4.5.
    @discardableResult
    public mutating func handle(_ message: DHCPMessage, now: Instant) -> Disposition {
        guard message.op == .bootReply else { return .ignored(.dhcpUnexpected) }
        guard [.selecting, .requesting, .rebooting, .renewing, .rebinding].contains(state) else { return .ignored(.dhcpUnexpected) }
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
            guard !declinedAddresses.contains(message.yourAddress) else { return .ignored(.dhcpDeclinedAddress) }
            if configuration.ipv6OnlyPreferred, let seconds = message.ipv6OnlyPreferredWait {
                // RFC 8925 §3.2: stop DHCPv4 for V6ONLY_WAIT, at least MIN_V6ONLY_WAIT.
                let wait = max(Duration.seconds(Int64(seconds)), Self.MIN_V6ONLY_WAIT)
                events.append(.ipv6OnlyPreferred(wait: wait))
                enter(.initial, now: now)
                deadline = now + wait
                return .accepted
            }
            offeredAddress = message.yourAddress
            offerServer = server
            phase.offerReceived = now
            enter(.requesting, now: now)
            deadline = now
            return .accepted

        case (.selecting, .ack):
            // RFC 4039 §3.1: only with option 80, and only when our DISCOVER carried it.
            guard configuration.rapidCommit, message.hasRapidCommit else { return .ignored(.dhcpUnexpected) }
            guard let server = message.serverIdentifier else { return .ignored(.dhcpMalformed) }
            guard !declinedAddresses.contains(message.yourAddress) else { return .ignored(.dhcpDeclinedAddress) }
            guard let lease = makeLease(from: message, fallbackServer: server) else { return .ignored(.dhcpMalformed) }
            accept(lease, now: now)
            return .accepted

        case (.requesting, .ack), (.rebooting, .ack):
            if state == .requesting, let server = message.serverIdentifier, server != offerServer { return .ignored(.dhcpUnexpected) }
            let fallback = state == .requesting ? offerServer : configuration.rememberedLease?.server ?? .any
            guard let lease = makeLease(from: message, fallbackServer: fallback) else { return .ignored(.dhcpMalformed) }
            accept(lease, now: now)
            return .accepted

        case (.renewing, .ack), (.rebinding, .ack):
            guard let lease = makeLease(from: message, fallbackServer: self.lease?.server ?? .any) else {
                return .ignored(.dhcpMalformed)
            }
            if lease.address != self.lease?.address { conflictDetection = nil }
            bind(lease, now: now)
            events.append(.renewed(lease))
            return .accepted

        case (.requesting, .nak), (.rebooting, .nak), (.renewing, .nak), (.rebinding, .nak):
            if state == .requesting, let server = message.serverIdentifier, server != offerServer { return .ignored(.dhcpUnexpected) }
            counters.naks += 1
            events.append(.nak(in: state, server: message.serverIdentifier, message: message.message))
            if lease != nil {
                dropLease(reason: "DHCPNAK from \(message.serverIdentifier.map(String.init(describing:)) ?? "server")", now: now)
            }
            rebootAddress = nil
            restartAfterNAK(now: now)
            return .accepted

        default:
            return .ignored(.dhcpUnexpected)
        }
    }

    /// RFC 8925 §3.2 (MIN_V6ONLY_WAIT): the shortest pause an IPv6-only preferred OFFER can ask for.
    public static let MIN_V6ONLY_WAIT: Duration = .seconds(300)

    /// INIT after a NAK: at once for the first NAK since the last bind, then `nakBackoffInitial` doubling up to
    /// `nakBackoffMaximum` (dhcpcd, src/dhcp.c `nakoff`), so a server that NAKs everything is not hammered.
    mutating func restartAfterNAK(now: Instant) {
        var delay = Duration.zero
        if naksInARow > 0 {
            delay = configuration.nakBackoffInitial
            for _ in 1 ..< min(naksInARow, 32) where delay < configuration.nakBackoffMaximum { delay = delay * 2 }
            delay = min(delay, configuration.nakBackoffMaximum)
        }
        naksInARow += 1
        enter(.initial, now: now)
        deadline = now + delay
    }

    /// An ACKed lease: bound at once, or checked first when `configuration.acd` is set (PROBING).
    mutating func accept(_ lease: DHCPLease, now: Instant) {
        let times = DHCPPhaseTimes(discoverSent: phase.discoverSent, offerReceived: phase.offerReceived,
                                   requestSent: phase.requestSent, ackReceived: now, bound: now,
                                   retransmissions: phase.retransmissions)
        rebootAddress = nil
        guard configuration.acd else {
            bind(lease, now: now)
            events.append(.bound(lease, times))
            return
        }
        pendingLease = lease
        pendingTimes = times
        conflictDetection = AddressConflictDetection(mac: mac, address: lease.address, now: now, random: random.split())
        enter(.probing, now: now)
        deadline = nil
    }

    mutating func bind(_ lease: DHCPLease, now: Instant) {
        self.lease = lease
        naksInARow = 0
        enter(.bound, now: now)
        deadline = lease.renewAt
    }

    /// The lease an ACK grants, measured from the first REQUEST of this exchange (the first DISCOVER with rapid
    /// commit); see `DHCPLease.init(acknowledgement:…)` for the checks, the floor and the cap.
    func makeLease(from message: DHCPMessage, fallbackServer: IPv4Address) -> DHCPLease? {
        DHCPLease(acknowledgement: message, acquiredAt: requestStart ?? exchangeStart, fallbackServer: fallbackServer,
                  minimumLeaseTime: configuration.minimumLeaseTime, leaseCap: configuration.leaseCap)
    }
}
