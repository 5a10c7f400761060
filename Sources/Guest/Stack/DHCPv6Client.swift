import Wire

/// A DHCPv6 client (RFC 8415) as a sans-IO state machine, in the shape of `DHCPClient`.
///
/// It never reads a clock and never sends: `start(_:now:)` (or `routerAdvertisement(managed:otherConfiguration:now:)`),
/// `handle(_:from:now:)`, `decline(_:now:)` and `release(now:)` change its state, `poll(now:)` runs due timers and
/// returns the messages to send (UDP from port 546 on the link-local address to port 547 of `destination`),
/// `nextDeadline` says when to poll next and `drainEvents()` reports transitions, addresses leased, renewed and lost,
/// and DNS configuration. All randomness (transaction ids, RAND, start delays) comes from its seeded generator.
///
/// Stateful (IA_NA): SOLICITING → (Advertise, or Reply with Rapid Commit) → REQUESTING → BOUND; BOUND → RENEWING at
/// T1 → REBINDING at T2 → SOLICITING when the valid lifetimes end; DECLINING after a DAD failure; RELEASING →
/// RELEASED on exit. Stateless: INFORMING (Information-request) → INFORMED → INFORMING at the refresh time.
/// Messages go to All_DHCP_Relay_Agents_and_Servers (ff02::1:2); a server's unicast address (OPTION_UNICAST) is used
/// only when `Configuration.acceptServerUnicast` is set, and dropped on a UseMulticast status.
public struct DHCPv6Client: Sendable {
    /// Identity, options and timings. The defaults are RFC 8415's.
    public struct Configuration: Sendable, Equatable {
        /// Which DUID identifies the client (RFC 8415 §11).
        public enum Identity: Sendable, Equatable {
            /// DUID-LL of the MAC (RFC 8415 §11.4): the default, stable across restarts without storage.
            case linkLayer
            /// DUID-LLT of the MAC with `time` in seconds since 2000-01-01 00:00 UTC (RFC 8415 §11.2), given by
            /// the caller (see `DHCPv6Client.duidTime(unixSeconds:)`), never read from a clock.
            case linkLayerPlusTime(time: UInt32)
            /// Any DUID, used as given.
            case duid(DUID)
        }

        /// Where the IAID comes from (RFC 8415 §12: unique per interface, stable across restarts).
        public enum IAIDSource: Sendable, Equatable {
            /// The last four bytes of the MAC.
            case macAddress
            /// 32 bits from the seeded generator (stable for a given seed).
            case random
            case fixed(UInt32)
        }

        public var identity: Identity = .linkLayer
        public var iaid: IAIDSource = .macAddress
        /// Send Rapid Commit in Solicit and accept a Reply to it (RFC 8415 §18.2.1, §21.14). Off by default.
        public var rapidCommit = false
        /// The first Solicit waits a uniform random time in 0...this (SOL_MAX_DELAY, RFC 8415 §18.2.1).
        public var maximumSolicitDelay: Duration = .seconds(1)
        /// The first Information-request waits a uniform random time in 0...this (INF_MAX_DELAY, §18.2.6).
        public var maximumInformationRequestDelay: Duration = .seconds(1)
        /// Options asked for in OPTION_ORO besides SOL_MAX_RT, INF_MAX_RT and (in Information-request) the
        /// Information Refresh Time, which RFC 8415 §21.23–§21.25 make mandatory.
        public var requestedOptions: [DHCPv6OptionCode] = [.dnsServers, .domainList]
        /// Send Request, Renew, Release and Decline to the server's OPTION_UNICAST address (RFC 8415 §21.12,
        /// §18.2.10). Off: everything goes to ff02::1:2.
        public var acceptServerUnicast = false
        public var solicit = DHCPv6RetransmissionParameters.solicit
        public var request = DHCPv6RetransmissionParameters.request
        public var renew = DHCPv6RetransmissionParameters.renew
        public var rebind = DHCPv6RetransmissionParameters.rebind
        public var informationRequest = DHCPv6RetransmissionParameters.informationRequest
        public var release = DHCPv6RetransmissionParameters.release
        public var decline = DHCPv6RetransmissionParameters.decline
        public init() {}
    }

    /// What the router advertisement asked for (RFC 4861 §4.2 M and O flags).
    public enum Mode: String, Sendable, Equatable {
        /// Information-request only (O=1, M=0; RFC 8415 §18.2.6).
        case stateless
        /// Addresses in an IA_NA (M=1).
        case stateful
    }

    public enum State: String, TracedState {
        public static let machineName = "DHCPv6"
        case idle = "IDLE"
        case soliciting = "SOLICITING"
        case requesting = "REQUESTING"
        case bound = "BOUND"
        case renewing = "RENEWING"
        case rebinding = "REBINDING"
        case declining = "DECLINING"
        case releasing = "RELEASING"
        case released = "RELEASED"
        case informing = "INFORMING"
        case informed = "INFORMED"
        public var description: String { rawValue }
    }

    /// One state change, for tracing.
    public typealias Transition = StateTransition<State>

    /// A message to send from UDP port 546 (`clientPort`) on the link-local address to port 547 (`serverPort`) of
    /// `destination`: ff02::1:2 (RFC 8415 §7.1, §13) unless the server's unicast address is in use.
    public struct Outgoing: Sendable, Equatable {
        public var message: DHCPv6Message
        public var destination: IPv6Address
        public static let sourcePort = DHCPv6Packet.clientPort
        public static let destinationPort = DHCPv6Packet.serverPort
    }

    /// What the client reports besides messages.
    public enum Event: Sendable, Equatable {
        case transition(Transition)
        /// A new address from a Reply: the stack adds it (tentative, with DAD) and calls `decline(_:now:)` if DAD
        /// finds a duplicate.
        case addressLeased(DHCPv6LeasedAddress)
        /// New lifetimes for an address already leased (Renew, Rebind or Request Reply).
        case addressRenewed(DHCPv6LeasedAddress)
        /// The address must be removed: valid lifetime over, set to 0 by the server, NotOnLink, declined, released.
        case addressLost(IPv6Address, reason: String)
        /// DNS recursive name servers (option 23) and domain search list (option 24) from a Reply, when they change.
        case configuration(dnsServers: [IPv6Address], domainList: [String])
    }

    /// Why a message was ignored (counted in `ignoredMessages`).
    public enum IgnoreReason: String, Sendable, CaseIterable, Hashable {
        case malformed = "DHCPv6 malformed"
        case unexpectedMessage = "DHCPv6 message unexpected in this state"
        case wrongTransaction = "DHCPv6 wrong transaction id"
        case wrongClientIdentifier = "DHCPv6 client id missing or not ours"
        case missingServerIdentifier = "DHCPv6 server id missing"
        /// Advertise without usable addresses or with NoAddrsAvail (RFC 8415 §18.2.9).
        case noAddressesAvailable = "DHCPv6 no addresses available"
        /// A Reply without our IA_NA, or with an invalid one (T1 > T2, §21.4), to Renew or Rebind.
        case missingIdentityAssociation = "DHCPv6 IA_NA missing"
        /// UnspecFail or another status the client retries on (RFC 8415 §18.2.10).
        case serverFailure = "DHCPv6 server failure status"
    }

    /// What `handle` did with a message.
    public enum Disposition: Sendable, Equatable {
        case accepted
        case ignored(IgnoreReason)
    }

    /// All_DHCP_Relay_Agents_and_Servers, ff02::1:2 (RFC 8415 §7.1).
    public static let allServers = IPv6Address.allDHCPRelayAgentsAndServers
    /// IRT_DEFAULT, the Information Refresh Time without option 32 (RFC 8415 §7.6, §21.23).
    public static let defaultInformationRefreshTime: Duration = .seconds(86_400)
    /// IRT_MINIMUM (RFC 8415 §7.6, §21.23).
    public static let minimumInformationRefreshTime: Duration = .seconds(600)

    public let mac: MACAddress
    public var configuration: Configuration
    /// OPTION_CLIENTID (RFC 8415 §11).
    public let duid: DUID
    /// The IAID of the one IA_NA (RFC 8415 §12).
    public let iaid: UInt32
    public internal(set) var state: State = .idle
    public internal(set) var mode: Mode?
    /// The binding in force (BOUND, RENEWING, REBINDING, DECLINING, and REQUESTING after NoBinding).
    public internal(set) var lease: DHCPv6Lease?
    /// The transaction id of the current exchange (24 bits).
    public internal(set) var transactionID: UInt32 = 0
    /// The DNS servers and search list in force (from the last Reply that carried them).
    public internal(set) var dnsServers: [IPv6Address] = []
    public internal(set) var domainList: [String] = []
    /// SOL_MAX_RT and INF_MAX_RT, as updated by options 82 and 83 (RFC 8415 §21.24, §21.25).
    public internal(set) var solicitMaximum: Duration
    public internal(set) var informationRequestMaximum: Duration
    /// Messages ignored, by reason.
    public internal(set) var ignoredMessages: [IgnoreReason: Int] = [:]

    var random: SeededGenerator
    /// When the state's timer fires (start delay, retransmission, T1, refresh); nil when none.
    var timer: Instant?
    /// The exchange in progress.
    var exchange: DHCPv6Retransmission?
    /// The server, unicast address and addresses the current Request, Renew, Release or Decline is about.
    var target = Target()
    /// Valid Advertise messages received while soliciting (RFC 8415 §18.2.1, §18.2.9).
    var advertisements: [Advertisement] = []
    var queued: [Outgoing] = []
    var events: [Event] = []

    struct Target: Sendable, Equatable {
        var server: DUID?
        var unicast: IPv6Address?
        var addresses: [IPv6Address] = []
    }

    struct Advertisement: Sendable, Equatable {
        var server: DUID
        var preference: UInt8
        var addresses: [IPv6Address]
        var unicast: IPv6Address?
    }

    public init(mac: MACAddress, configuration: Configuration = Configuration(), random: SeededGenerator) {
        self.mac = mac
        self.configuration = configuration
        self.random = random
        duid = switch configuration.identity {
        case .linkLayer: .linkLayer(mac)
        case let .linkLayerPlusTime(time): .linkLayerPlusTime(mac, time: time)
        case let .duid(duid): duid
        }
        iaid = switch configuration.iaid {
        case .macAddress: Self.iaid(for: mac)
        case .random: UInt32.random(in: .min ... .max, using: &self.random)
        case let .fixed(value): value
        }
        solicitMaximum = configuration.solicit.maximum ?? .seconds(3600)
        informationRequestMaximum = configuration.informationRequest.maximum ?? .seconds(3600)
    }

    /// The last four bytes of the MAC, big-endian: stable for the interface (RFC 8415 §12). `IAID(mac:)`.
    public static func iaid(for mac: MACAddress) -> UInt32 { IAID(mac: mac) }

    /// The DUID-LLT time field for a Unix time: seconds since 2000-01-01 00:00 UTC modulo 2³² (RFC 8415 §11.2).
    public static func duidTime(unixSeconds: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: unixSeconds - 946_684_800)
    }

    /// The mode an RA's flags ask for: M=1 stateful (a Reply to Request carries the other configuration too), O=1
    /// stateless, neither none. RFC 4861 §4.2, RFC 8415 §18.2.6.
    public static func mode(managed: Bool, otherConfiguration: Bool) -> Mode? {
        managed ? .stateful : otherConfiguration ? .stateless : nil
    }

    /// The earliest instant at which `poll(now:)` has work; `.boot` (always due) while a message is queued.
    public var nextDeadline: Instant? {
        guard queued.isEmpty else { return .boot }
        switch state {
        case .bound, .renewing, .rebinding, .requesting, .declining: return timer.earliest(lease?.nextAddressExpiry)
        default: return timer
        }
    }

    /// Events since the last call, in order.
    public mutating func drainEvents() -> [Event] {
        defer { events.removeAll() }
        return events
    }

    /// Starts the client in `mode` (the first Solicit or Information-request after the random initial delay). A
    /// client already running that mode, or running stateful when asked for stateless, is left alone; a stateless
    /// client asked for stateful switches. RFC 8415 §18.2.1, §18.2.6.
    public mutating func start(_ mode: Mode, now: Instant) {
        switch (mode, self.mode, state) {
        case (_, _, .idle), (_, _, .released), (.stateful, .stateless?, _):
            self.mode = mode
            lease = nil
            switch mode {
            case .stateful: beginExchange(.soliciting, now: now, delay: delay(configuration.maximumSolicitDelay))
            case .stateless: beginExchange(.informing, now: now, delay: delay(configuration.maximumInformationRequestDelay))
            }
        default:
            return
        }
    }

    /// Feeds an RA's M and O flags (RFC 4861 §4.2): starts the mode they ask for, if any, as `start(_:now:)` does.
    /// Idempotent, so the stack may call it for every RA.
    public mutating func routerAdvertisement(managed: Bool, otherConfiguration: Bool, now: Instant) {
        guard let mode = Self.mode(managed: managed, otherConfiguration: otherConfiguration) else { return }
        start(mode, now: now)
    }

    /// Gives the addresses back: they are reported lost at once (RFC 8415 §18.2.7: "MUST stop using all of the
    /// addresses being released") and one Release replaces anything queued for the next `poll`; later polls retransmit it
    /// (REL_TIMEOUT, REL_MAX_RC 4) until a Reply, then RELEASED. Without a binding the client just stops.
    public mutating func release(now: Instant) {
        queued.removeAll()
        guard let lease, !lease.addresses.isEmpty else {
            self.lease = nil
            exchange = nil
            timer = nil
            enter(.released, now: now)
            return
        }
        for address in lease.addresses { events.append(.addressLost(address.address, reason: "released")) }
        self.lease = nil
        target = Target(server: lease.serverIdentifier, unicast: unicast(lease.serverUnicast),
                        addresses: lease.addresses.map(\.address))
        beginExchange(.releasing, now: now, keepTarget: true)
    }

    /// The stack found `address` duplicate during DAD (RFC 4862 §5.4.5): the address is reported lost and a
    /// Decline is sent for it (RFC 8415 §18.2.8; DEC_TIMEOUT, DEC_MAX_RC 4). Afterwards the client goes on with
    /// the remaining addresses, or solicits again when none is left. Returns false when `address` is not leased.
    @discardableResult
    public mutating func decline(_ address: IPv6Address, now: Instant) -> Bool {
        guard var lease, let index = lease.addresses.firstIndex(where: { $0.address == address }),
              [.bound, .renewing, .rebinding, .requesting, .declining].contains(state) else { return false }
        lease.addresses.remove(at: index)
        self.lease = lease
        events.append(.addressLost(address, reason: "duplicate address detected"))
        let earlier = state == .declining ? target.addresses : []
        target = Target(server: lease.serverIdentifier, unicast: unicast(lease.serverUnicast), addresses: earlier + [address])
        beginExchange(.declining, now: now, keepTarget: true)
        return true
    }

    /// Runs due timers and returns the messages to send now, in order.
    public mutating func poll(now: Instant) -> [Outgoing] {
        var steps = 0
        while steps < 16 {
            steps += 1
            if expireAddresses(now: now) { continue }
            guard let due = timer, due <= now else { break }
            timer = nil
            timerFired(now: now)
        }
        defer { queued.removeAll() }
        return queued
    }

    mutating func timerFired(now: Instant) {
        switch state {
        case .idle, .released:
            return
        case .bound:
            guard let lease else { return restartSolicit(now: now) }
            if let rebindAt = lease.rebindAt, now >= rebindAt {
                beginExchange(.rebinding, now: now)
            } else {
                beginExchange(.renewing, now: now)
            }
        case .informed:
            beginExchange(.informing, now: now)
        case .soliciting, .requesting, .renewing, .rebinding, .declining, .releasing, .informing:
            guard let exchange else { return }
            if exchange.transmissions == 0 { return transmit(now: now) }
            // RFC 8415 §18.2.1: Advertises collected during the first RT are acted on when it ends.
            if state == .soliciting, exchange.transmissions == 1, let best = bestAdvertisement() {
                return request(best, now: now)
            }
            if exchange.exhausted(now: now) { return exchangeFailed(now: now) }
            transmit(now: now)
        }
    }

    /// What happens when MRC or MRD runs out (RFC 8415 §18.2.2, §18.2.4, §18.2.5, §18.2.7, §18.2.8).
    mutating func exchangeFailed(now: Instant) {
        switch state {
        case .requesting:
            // With a binding (after NoBinding) keep trying any server until the valid lifetimes end.
            if lease?.addresses.isEmpty == false { beginExchange(.rebinding, now: now) } else { restartSolicit(now: now) }
        case .renewing:
            beginExchange(.rebinding, now: now)
        case .rebinding:
            dropLease(reason: "rebind failed", now: now)
            restartSolicit(now: now)
        case .releasing:
            exchange = nil
            enter(.released, now: now)
        case .declining:
            finishDecline(now: now)
        default:
            transmit(now: now)
        }
    }

    /// Removes addresses whose valid lifetime has ended; when none is left, solicits again (RFC 8415 §18.2.5:
    /// "the client ... may choose to start a Solicit"). Returns whether the state changed.
    mutating func expireAddresses(now: Instant) -> Bool {
        guard var lease, [.bound, .renewing, .rebinding, .requesting, .declining].contains(state) else { return false }
        let expired = lease.addresses.filter { $0.validUntil.map { $0 <= now } ?? false }
        guard !expired.isEmpty else { return false }
        lease.addresses.removeAll { $0.validUntil.map { $0 <= now } ?? false }
        for address in expired { events.append(.addressLost(address.address, reason: "valid lifetime ended")) }
        self.lease = lease
        if lease.addresses.isEmpty, [.bound, .renewing, .rebinding].contains(state) {
            self.lease = nil
            restartSolicit(now: now)
        }
        return true
    }

    // MARK: Exchanges

    /// Enters `next` with a new transaction id and retransmission state and sends its first message, or schedules
    /// it after `delay`. The target (server, addresses) follows from the state unless `keepTarget`.
    mutating func beginExchange(_ next: State, now: Instant, delay: Duration = .zero, keepTarget: Bool = false) {
        enter(next, now: now)
        transactionID = UInt32.random(in: 0 ... 0x00FF_FFFF, using: &random)
        if !keepTarget {
            switch next {
            case .renewing:
                target = Target(server: lease?.serverIdentifier, unicast: unicast(lease?.serverUnicast),
                                addresses: lease?.addresses.map(\.address) ?? [])
            case .rebinding:
                target = Target(server: nil, unicast: nil, addresses: lease?.addresses.map(\.address) ?? [])
            default:
                target = Target()
            }
        }
        let parameters: DHCPv6RetransmissionParameters
        var limit: Instant?
        switch next {
        case .soliciting:
            advertisements = []
            parameters = DHCPv6RetransmissionParameters(initial: configuration.solicit.initial, maximum: solicitMaximum,
                                                        maximumCount: configuration.solicit.maximumCount)
        case .requesting: parameters = configuration.request
        case .renewing:
            parameters = configuration.renew
            limit = lease?.rebindAt
        case .rebinding:
            parameters = configuration.rebind
            limit = lease?.expiresAt
        case .declining: parameters = configuration.decline
        case .releasing: parameters = configuration.release
        case .informing:
            parameters = DHCPv6RetransmissionParameters(initial: configuration.informationRequest.initial,
                                                        maximum: informationRequestMaximum,
                                                        maximumCount: configuration.informationRequest.maximumCount)
        case .idle, .bound, .released, .informed:
            preconditionFailure("\(next) has no message exchange")
        }
        exchange = DHCPv6Retransmission(parameters: parameters, firstStrictlyGreater: next == .soliciting, limit: limit)
        if delay > .zero { timer = now + delay } else { transmit(now: now) }
    }

    /// Sends (queues) the current state's message and arms the retransmission timer.
    mutating func transmit(now: Instant) {
        guard var exchange, let message = makeMessage(now: now, exchange: exchange) else { return }
        timer = exchange.transmitted(now: now, random: &random)
        self.exchange = exchange
        queued.append(Outgoing(message: message, destination: target.unicast ?? Self.allServers))
    }

    /// A new Solicit exchange at once (no initial delay: only the first Solicit on the interface waits); any
    /// address still held is given up first.
    mutating func restartSolicit(now: Instant) {
        dropLease(reason: "binding abandoned", now: now)
        beginExchange(.soliciting, now: now)
    }

    /// Request to the chosen server (RFC 8415 §18.2.2).
    mutating func request(_ advertisement: Advertisement, now: Instant) {
        target = Target(server: advertisement.server, unicast: unicast(advertisement.unicast),
                        addresses: advertisement.addresses)
        beginExchange(.requesting, now: now, keepTarget: true)
    }

    /// The Advertise with the highest preference, the earliest among equals (RFC 8415 §18.2.9).
    func bestAdvertisement() -> Advertisement? {
        var best: Advertisement?
        for candidate in advertisements where candidate.preference > (best?.preference ?? 0) || best == nil {
            best = candidate
        }
        return best
    }

    mutating func finishDecline(now: Instant) {
        exchange = nil
        if let lease, !lease.addresses.isEmpty {
            enter(.bound, now: now)
            timer = lease.renewAt.map { max($0, now) }
            if lease.renewAt == nil, let rebindAt = lease.rebindAt { timer = max(rebindAt, now) }
        } else {
            lease = nil
            restartSolicit(now: now)
        }
    }

    mutating func dropLease(reason: String, now: Instant) {
        for address in lease?.addresses ?? [] { events.append(.addressLost(address.address, reason: reason)) }
        lease = nil
    }

    mutating func enter(_ next: State, now: Instant) {
        guard next != state else { return }
        events.append(.transition(Transition(from: state, to: next, at: now)))
        state = next
    }

    /// The server's unicast address when the configuration allows it.
    func unicast(_ address: IPv6Address?) -> IPv6Address? { configuration.acceptServerUnicast ? address : nil }

    mutating func delay(_ maximum: Duration) -> Duration {
        maximum > .zero ? random.duration(in: .zero ... maximum) : .zero
    }
}
