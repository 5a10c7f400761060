@testable import Guest
import Wire

/// Fixed identities and addresses for the DHCPv6 client tests (2001:db8::/32 documentation prefix, RFC 3849).
enum V6Lab {
    static let clientMAC = MACAddress(0x02, 0x00, 0x5e, 0x10, 0x20, 0xaa)
    static let serverDUID = DUID.linkLayer(MACAddress(0x02, 0x00, 0x5e, 0x10, 0x20, 0x01))
    static let otherServerDUID = DUID.linkLayer(MACAddress(0x02, 0x00, 0x5e, 0x10, 0x20, 0x02))
    static let serverAddress = IPv6Address("fe80::5eff:fe10:2001")!
    static let leased = IPv6Address("2001:db8:1::23")!
    static let second = IPv6Address("2001:db8:1::24")!
    static let dns = IPv6Address("2001:db8:1::53")!

    /// Starts `client` in stateful mode and answers its Solicit with `server`'s Advertise at preference 255, so
    /// the client is REQUESTING at once; returns the Solicit.
    @discardableResult
    static func advertise(to client: inout DHCPv6Client, from server: inout V6Server) -> DHCPv6Message {
        client.start(.stateful, now: .boot)
        let solicit = client.poll(now: .boot)[0].message
        server.preference = 255
        client.handle(server.advertise(solicit), from: serverAddress, now: .boot)
        return solicit
    }

    /// A client with no initial delay (tests choose when the first message leaves).
    static func client(seed: UInt64 = 7, _ adjust: (inout DHCPv6Client.Configuration) -> Void = { _ in }) -> DHCPv6Client {
        var configuration = DHCPv6Client.Configuration()
        configuration.maximumSolicitDelay = .zero
        configuration.maximumInformationRequestDelay = .zero
        adjust(&configuration)
        return DHCPv6Client(mac: clientMAC, configuration: configuration, random: SeededGenerator(seed: seed))
    }
}

/// Builds server messages answering a client message (RFC 8415 §18.3): same transaction id, the client's Client ID,
/// a Server ID, and the IA_NA with the client's IAID.
struct V6Server {
    var duid = V6Lab.serverDUID
    var t1: UInt32 = 1000
    var t2: UInt32 = 1600
    var preferred: UInt32 = 2000
    var valid: UInt32 = 3000
    var addresses = [V6Lab.leased]
    var preference: UInt8?
    var extra: [DHCPv6Option] = []

    func iaNA(for message: DHCPv6Message, status: DHCPv6StatusCode? = nil) -> DHCPv6Option {
        let iaid = message.identityAssociations.first?.iaid ?? 0
        var options = addresses.map {
            DHCPv6Option.iaAddress(DHCPv6IAAddress(address: $0, preferredLifetime: preferred, validLifetime: valid))
        }
        if let status { options = [.statusCode(DHCPv6Status(code: status, message: "test"))] }
        return .iaNA(DHCPv6IANA(iaid: iaid, t1: t1, t2: t2, options: options))
    }

    func answer(_ type: DHCPv6MessageType, to message: DHCPv6Message, iaStatus: DHCPv6StatusCode? = nil,
                status: DHCPv6StatusCode? = nil, withIA: Bool = true) -> DHCPv6Message {
        var options: [DHCPv6Option] = [.serverIdentifier(duid)]
        if let client = message.option(.clientIdentifier) { options.append(client) }
        if withIA { options.append(iaNA(for: message, status: iaStatus)) }
        if let status { options.append(.statusCode(DHCPv6Status(code: status, message: "test"))) }
        if let preference { options.append(.preference(preference)) }
        return DHCPv6Message(messageType: type, transactionID: message.transactionID, options: options + extra)
    }

    func advertise(_ message: DHCPv6Message) -> DHCPv6Message { answer(.advertise, to: message) }
    func reply(_ message: DHCPv6Message) -> DHCPv6Message { answer(.reply, to: message) }
}

extension DHCPv6Client {
    /// Polls at `now` and returns the message types sent.
    mutating func sentTypes(now: Instant) -> [DHCPv6MessageType] { poll(now: now).map(\.message.messageType) }

    /// The transitions in the pending events, as "FROM→TO".
    mutating func transitionNames() -> [String] {
        drainEvents().compactMap { event in
            if case let .transition(t) = event { return "\(t.from)→\(t.to)" }
            return nil
        }
    }

    /// Steps from Solicit to BOUND at `now` with `server`'s Advertise and Reply; returns the Request answered.
    @discardableResult
    mutating func bindQuickly(server: V6Server = V6Server(), now: Instant = .boot) -> DHCPv6Message {
        start(.stateful, now: now)
        let solicit = poll(now: now)[0].message
        var preferred = server
        preferred.preference = 255
        handle(preferred.advertise(solicit), from: V6Lab.serverAddress, now: now)
        let request = poll(now: now)[0].message
        handle(server.reply(request), from: V6Lab.serverAddress, now: now)
        return request
    }
}

/// The wire bytes of `message`.
func encoded(_ message: DHCPv6Message) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0xA5, count: message.encodedLength)
    try bytes.withUnsafeMutableBytes { try message.emit(into: $0) }
    return bytes
}

extension DHCPv6Client {
    /// Polls at every deadline up to `limit` (inclusive) and returns what was sent, with when. Bounded, so a client
    /// that never stops cannot hang a test.
    mutating func run(from start: Instant, until limit: Instant, maximumPolls: Int = 500) -> [(at: Instant, outgoing: Outgoing)] {
        var sent: [(at: Instant, outgoing: Outgoing)] = []
        var now = start
        for _ in 0 ..< maximumPolls {
            guard let deadline = nextDeadline, deadline <= limit else { break }
            now = max(now, deadline)
            sent += poll(now: now).map { (now, $0) }
        }
        return sent
    }
}

extension Duration {
    /// Seconds as a Double, for tolerance checks.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
