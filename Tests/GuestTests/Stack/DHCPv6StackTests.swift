import Testing
@testable import Guest
import Wire

/// The DHCPv6 client inside the stack, on a manual clock: started by the RA's M/O flags, its messages on the wire
/// (UDP 546 → ff02::1:2 port 547 from the link-local address), leased addresses through DAD, Release on exit,
/// Decline after a duplicate. RFC 8415 §18, RFC 4862 §5.4.
@Suite struct DHCPv6StackTests {
    /// A DHCPv6 server on the router: answers every client message the stack sends, 1 ms later, from the router's
    /// link-local address (RFC 8415 §18.3).
    struct Responder {
        var server = V6Server()
        var dnsServers: [IPv6Address] = [V6Lab.dns]
        /// Every client message seen, in order.
        var received: [DHCPv6Message] = []
        /// Off: messages are recorded, never answered.
        var answersEnabled = true

        static func clientMessage(_ frame: [UInt8]) -> (ParsedIPv6, UDPHeader, DHCPv6Message)? {
            guard let ip = try? parseIPv6(frame), ip.upperNextHeader == .udp else { return nil }
            return ip.upper.withUnsafeBytes { raw -> (ParsedIPv6, UDPHeader, DHCPv6Message)? in
                guard let udp = try? UDPDatagram(raw), udp.destinationPort == 547,
                      let message = try? DHCPv6Message(DHCPv6Packet(udp.payload)) else { return nil }
                return (ip, UDPHeader(udp), message)
            }
        }

        mutating func respond(_ frame: [UInt8]) throws -> [[UInt8]] {
            guard let (ip, _, message) = Self.clientMessage(frame) else { return [] }
            received.append(message)
            guard answersEnabled else { return [] }
            var server = self.server
            server.extra = [.dnsServers(dnsServers)]
            let answer: DHCPv6Message
            switch message.messageType {
            case .solicit: answer = server.advertise(message)
            case .request, .renew, .rebind: answer = server.reply(message)
            case .informationRequest: answer = server.answer(.reply, to: message, withIA: false)
            case .release, .decline: answer = server.answer(.reply, to: message, status: .success, withIA: false)
            default: return []
            }
            return [try dhcpv6Frame(answer, to: ip.header.source)]
        }
    }

    static func dhcpv6Frame(_ message: DHCPv6Message, to destination: IPv6Address) throws -> [UInt8] {
        let payload = try encoded(message)
        let header = UDPHeader(sourcePort: 547, destinationPort: 546, payloadLength: payload.count)
        let datagram = try bytes(header.length) { buffer in
            try header.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[8...]).copyBytes(from: payload)
            UDPHeader.fillChecksum(datagram: buffer, source: Lab6.router, destination: destination)
        }
        return try ipv6Frame(from: Lab6.routerMAC, to: Lab.clientMAC, source: Lab6.router, destination: destination,
                             nextHeader: .udp, payload: datagram)
    }

    /// Boots the link-local address, then hears an RA with `managed`/`other` and a prefix for SLAAC.
    static func bootWithRouter(managed: Bool, other: Bool) throws -> IPv6Harness {
        let harness = IPv6Harness { configuration in
            configuration.dhcpv6.maximumSolicitDelay = .milliseconds(500)
            configuration.dhcpv6.maximumInformationRequestDelay = .milliseconds(500)
        }
        try harness.bootLinkLocal()
        _ = harness.sent6()
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(
            managedAddressConfiguration: managed, otherConfiguration: other, routerLifetime: 1800,
            options: [.sourceLinkLayerAddress(Lab6.routerMAC)])))
        return harness
    }

    static func dhcpv6Events(_ events: [StackEvent]) -> [StackEvent] {
        events.filter {
            switch $0 {
            case .dhcpv6, .dhcpv6Configuration: true
            default: false
            }
        }
    }

    @Test func statelessOtherFlagSendsAnInformationRequestAndReportsTheDNSServers() throws {
        let harness = try Self.bootWithRouter(managed: false, other: true)
        #expect(harness.stack.dhcpv6State == .informing)
        var responder = Responder()
        let log = try harness.run(until: harness.now + .seconds(2)) { try responder.respond($0) }
        let sent = log.compactMap { Responder.clientMessage($0.frame) }
        #expect(sent.map(\.2.messageType) == [.informationRequest])
        let (ip, udp, request) = try #require(sent.first)
        // RFC 8415 §7.1, §7.2: from our link-local address, port 546, to ff02::1:2 port 547; §18.2.6: no IA_NA.
        #expect(ip.header.source == Lab6.clientLinkLocal && ip.header.destination == .allDHCPRelayAgentsAndServers)
        #expect(ip.ethernet.destination == IPv6Address.allDHCPRelayAgentsAndServers.multicastMAC)
        #expect(udp.sourcePort == 546 && udp.destinationPort == 547)
        #expect(request.identityAssociations.isEmpty && request.optionRequest.contains(.dnsServers))
        // The reply's DNS servers are reported; no address is added.
        let events = Self.dhcpv6Events(harness.base.drainEvents())
        #expect(events.contains(.dhcpv6Configuration(dnsServers: [V6Lab.dns], domainList: [])))
        #expect(harness.stack.dhcpv6State == .informed)
        #expect(!harness.stack.ipv6Addresses.contains { $0.origin == .dhcpv6 })
        #expect(harness.stack.counters.dhcpv6.received == 1 && harness.stack.counters.dhcpv6.transmitted == 1)
    }

    @Test func statefulManagedFlagLeasesAnAddressThroughDADAndReleasesItOnExit() throws {
        let harness = try Self.bootWithRouter(managed: true, other: true)
        #expect(harness.stack.dhcpv6State == .soliciting)
        var responder = Responder()
        // Solicit after ≤ 0.5 s, the Advertise acted on when the first RT (> 1 s) ends, Request/Reply, DAD ≤ 2 s.
        var log = try harness.run(until: harness.now + .seconds(5)) { try responder.respond($0) }
        #expect(responder.received.map(\.messageType) == [.solicit, .request])
        #expect(harness.stack.dhcpv6State == .bound)
        // The leased address went through DAD: a NS from :: for it to its solicited-node group, then preferred.
        let probes = try log.compactMap { entry -> NeighborSolicitation? in
            guard icmpv6Type(entry.frame) == .neighborSolicitation else { return nil }
            let parsed = try parseICMPv6(entry.frame)
            guard parsed.ip.header.source.isUnspecified else { return nil }
            return try parsed.neighborSolicitation()
        }
        #expect(probes.contains { $0.targetAddress == V6Lab.leased })
        let leased = try #require(harness.stack.ipv6Addresses.first { $0.address == V6Lab.leased })
        #expect(leased.origin == .dhcpv6 && leased.state == .preferred && leased.prefixLength == 128)
        let addressEvents = harness.events6().compactMap(\.addressInfo).filter { $0.address == V6Lab.leased }
        #expect(addressEvents.map(\.state) == [.tentative, .preferred])
        #expect(harness.stack.ipv6MulticastGroups.contains(V6Lab.leased.solicitedNodeMulticast))

        // Release on exit (RFC 8415 §18.2.7): the address goes at once, one Release leaves with the binding's IA.
        harness.stack.release(now: harness.now)
        let releaseFrame = try #require(harness.sent6().first { Responder.clientMessage($0) != nil })
        let release = try #require(Responder.clientMessage(releaseFrame)?.2)
        #expect(release.messageType == .release)
        #expect(release.identityAssociations.first?.addresses.map(\.address) == [V6Lab.leased])
        #expect(!harness.stack.ipv6Addresses.contains { $0.address == V6Lab.leased })
        #expect(harness.stack.dhcpv6State == .releasing)
        for answer in try responder.respond(releaseFrame) { harness.receive(answer) }
        #expect(harness.stack.dhcpv6State == .released)
        log = try harness.run(until: harness.now + .seconds(10)) { try responder.respond($0) }
        #expect(log.isEmpty || log.allSatisfy { Responder.clientMessage($0.frame) == nil })
    }

    @Test func aLeasedAddressFoundDuplicateIsDeclinedAndNeverUsed() throws {
        let harness = try Self.bootWithRouter(managed: true, other: false)
        var responder = Responder()
        var declined = false
        // Another node answers our DAD probe for the leased address (RFC 4862 §5.4.4).
        let log = try harness.run(until: harness.now + .seconds(4)) { frame in
            if icmpv6Type(frame) == .neighborSolicitation, let parsed = try? parseICMPv6(frame), parsed.ip.header.source.isUnspecified,
               let ns = try? parsed.neighborSolicitation(), ns.targetAddress == V6Lab.leased, !declined {
                declined = true
                return [try neighborAdvertisementFrame(target: V6Lab.leased, source: Lab6.peer, mac: Lab6.peerMAC,
                                                       destination: .allNodes, solicited: false)]
            }
            return try responder.respond(frame)
        }
        #expect(declined)
        let types = log.compactMap { entry in Responder.clientMessage(entry.frame).map(\.2.messageType) }
        #expect(Array(types.prefix(3)) == [.solicit, .request, .decline])
        let decline = try #require(log.compactMap { entry in Responder.clientMessage(entry.frame).map(\.2) }.first { $0.messageType == .decline })
        #expect(decline.identityAssociations.first?.addresses.map(\.address) == [V6Lab.leased])
        let states = harness.events6().compactMap(\.addressInfo).filter { $0.address == V6Lab.leased }.map(\.state)
        #expect(states.prefix(2) == [.tentative, .duplicate])
        // Never used as a source: the address is gone or still duplicate, never preferred.
        #expect(!states.contains(.preferred))
    }

    @Test func dhcpv6DoesNothingWhileIPv6IsOffOrWithoutFlags() throws {
        let harness = try Self.bootWithRouter(managed: false, other: false)
        _ = try harness.run(until: harness.now + .seconds(5))
        #expect(harness.stack.dhcpv6State == .idle && harness.stack.counters.dhcpv6.transmitted == 0)

        let off = StackHarness()
        off.start()
        _ = off.run(until: off.now + .seconds(5))
        #expect(off.stack.dhcpv6State == .idle && off.sent().allSatisfy { !isIPv6($0) })
    }

    @Test func repliesFromTheWrongPortOrForAnotherTransactionAreCountedDrops() throws {
        let harness = try Self.bootWithRouter(managed: false, other: true)
        var responder = Responder()
        responder.answersEnabled = false
        _ = try harness.run(until: harness.now + .milliseconds(600)) { try responder.respond($0) }
        let request = try #require(responder.received.first)
        var wrong = V6Server().answer(.reply, to: request, withIA: false)
        wrong.transactionID ^= 1
        harness.receive(try Self.dhcpv6Frame(wrong, to: Lab6.clientLinkLocal))
        #expect(harness.stack.counters.drops(.dhcpv6WrongTransaction) == 1)
        #expect(harness.stack.dhcpv6State == .informing)
    }
}
