import Testing
@testable import Guest
import Wire

/// The DHCP client on its own, driven with DHCPMessage values (RFC 2131 §4.1, §4.4).
@Suite struct DHCPClientTests {
    func offer(for message: DHCPMessage, type: DHCPMessageType = .offer) -> DHCPMessage {
        DHCPMessage(op: .bootReply, transactionID: message.transactionID, yourAddress: Lab.offered,
                    clientHardwareAddress: message.clientHardwareAddress,
                    options: [.messageType(type), .serverIdentifier(Lab.server), .ipAddressLeaseTime(600)])
    }

    @Test func requestIsRetriedFourTimesThenTheClientRestartsAtInit() {
        var client = DHCPClient(mac: Lab.clientMAC, random: SeededGenerator(seed: 3))
        client.start(now: .boot)
        let discover = client.poll(now: .boot)
        #expect(discover.count == 1 && discover[0].destination == .broadcast && discover[0].source == .any)
        #expect(client.handle(offer(for: discover[0].message), now: .boot + .seconds(1)) == .accepted)
        var now = Instant.boot + .seconds(1)
        var requests: [Instant] = []
        var rediscovered: DHCPMessage?
        for _ in 0 ..< 20 {
            for outgoing in client.poll(now: now) {
                if outgoing.message.messageType == .request { requests.append(now) } else { rediscovered = outgoing.message }
            }
            if rediscovered != nil { break }
            now = client.nextDeadline!
        }
        #expect(requests.count == 5)
        let gaps = zip(requests.dropFirst(), requests).map { $0 - $1 }
        for (gap, nominal) in zip(gaps, [4, 8, 16, 32]) {
            #expect(gap >= .seconds(nominal - 1) && gap <= .seconds(nominal + 1))
        }
        let restart = try! #require(rediscovered)
        #expect(restart.messageType == .discover)
        #expect(restart.transactionID != discover[0].message.transactionID)
        let transitions = client.drainEvents().compactMap { event -> String? in
            if case let .transition(t) = event { return "\(t.from)→\(t.to)" }
            return nil
        }
        #expect(transitions == ["INIT→SELECTING", "SELECTING→REQUESTING", "REQUESTING→INIT", "INIT→SELECTING"])
    }

    @Test func offersWithoutServerIdentifierOrAddressAreIgnored() {
        var client = DHCPClient(mac: Lab.clientMAC, random: SeededGenerator(seed: 3))
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        var noServer = offer(for: discover)
        noServer.options.removeAll { $0.code == .serverIdentifier }
        var noAddress = offer(for: discover)
        noAddress.yourAddress = .any
        #expect(client.handle(noServer, now: .boot) == .ignored(.dhcpMalformed))
        #expect(client.handle(noAddress, now: .boot) == .ignored(.dhcpMalformed))
        #expect(client.handle(offer(for: discover, type: .ack), now: .boot) == .ignored(.dhcpUnexpected))
        #expect(client.state == .selecting)
    }

    @Test func ackWithoutLeaseTimeIsIgnored() {
        var client = DHCPClient(mac: Lab.clientMAC, random: SeededGenerator(seed: 3))
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        client.handle(offer(for: discover), now: .boot)
        let request = client.poll(now: .boot)[0].message
        var ack = offer(for: request, type: .ack)
        ack.options.removeAll { $0.code == .ipAddressLeaseTime }
        #expect(client.handle(ack, now: .boot) == .ignored(.dhcpMalformed))
        #expect(client.handle(offer(for: request, type: .ack), now: .boot) == .accepted)
        #expect(client.state == .bound)
        #expect(client.lease?.leaseTime == .seconds(600))
    }

    @Test func renewRetransmissionIsHalfTheRemainingTimeButNotBelow60Seconds() {
        let client = DHCPClient(mac: Lab.clientMAC, random: SeededGenerator(seed: 1))
        let now = Instant.boot
        #expect(client.renewRetransmission(now: now, limit: now + .seconds(1000)) == now + .seconds(500))
        #expect(client.renewRetransmission(now: now, limit: now + .seconds(100)) == now + .seconds(60))
        #expect(client.renewRetransmission(now: now, limit: now + .seconds(30)) == now + .seconds(30))
    }

    @Test(arguments: [
        // (lease, T1 option, T2 option, expected T1, expected T2)
        (3600, nil, nil, 1800, 3150),
        (3600, 600, 1200, 600, 1200),
        (3600, 2000, 1200, 1800, 3150),   // T1 > T2: both defaults
        (3600, 600, 4000, 1800, 3150),    // T2 > lease: defaults
        (3600, 3000, nil, 3000, 3150),    // T1 below the default T2: kept
        (3600, 3300, nil, 1800, 3150),    // T1 ≥ default T2: defaults
        (3600, nil, 2400, 1800, 2400),    // only T2 given and consistent
    ] as [(Int64, Int64?, Int64?, Int64, Int64)])
    func timersFallBackWhenInconsistent(lease: Int64, t1: Int64?, t2: Int64?, expected1: Int64, expected2: Int64) {
        let timers = DHCPLease.timers(lease: .seconds(lease), renewal: t1.map { .seconds($0) }, rebinding: t2.map { .seconds($0) })
        #expect(timers.renewal == .seconds(expected1))
        #expect(timers.rebinding == .seconds(expected2))
    }

    @Test func startDelayIsDrawnWithinTheConfiguredMaximum() {
        var configuration = DHCPClient.Configuration()
        configuration.maximumStartDelay = .seconds(10)
        var client = DHCPClient(mac: Lab.clientMAC, configuration: configuration, random: SeededGenerator(seed: 5))
        client.start(now: .boot)
        let deadline = client.nextDeadline!
        #expect(deadline >= .boot && deadline <= .boot + .seconds(10))
        #expect(client.poll(now: deadline - .milliseconds(1)).isEmpty || deadline == .boot)
        #expect(client.poll(now: deadline).count == 1)
    }
}

/// A lease time of 0 or a few seconds is raised to 20 s (dhcpcd's DHCP_MIN_LEASE) before T1 and T2.
@Suite struct DHCPMinimumLeaseTests {
    func exchange(leaseSeconds: UInt32) -> (client: DHCPClient, requestSent: Instant) {
        var client = DHCPClient(mac: Lab.clientMAC, random: SeededGenerator(seed: 4))
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        let offer = DHCPMessage(op: .bootReply, transactionID: discover.transactionID, yourAddress: Lab.offered,
                                clientHardwareAddress: Lab.clientMAC,
                                options: [.messageType(.offer), .serverIdentifier(Lab.server)])
        #expect(client.handle(offer, now: .boot + .milliseconds(5)) == .accepted)
        let requestSent = Instant.boot + .milliseconds(5)
        let request = client.poll(now: requestSent)[0].message
        let ack = DHCPMessage(op: .bootReply, transactionID: request.transactionID, yourAddress: Lab.offered,
                              clientHardwareAddress: Lab.clientMAC,
                              options: [.messageType(.ack), .serverIdentifier(Lab.server),
                                        .ipAddressLeaseTime(leaseSeconds)])
        #expect(client.handle(ack, now: requestSent + .milliseconds(5)) == .accepted)
        return (client, requestSent)
    }

    @Test(arguments: [0, 1, 5, 19] as [UInt32])
    func shortLeasesAreRaisedToTwentySeconds(leaseSeconds: UInt32) throws {
        var (client, requestSent) = exchange(leaseSeconds: leaseSeconds)
        let lease = try #require(client.lease)
        #expect(lease.leaseTime == .seconds(20))
        #expect(lease.renewalTime == .seconds(10) && lease.rebindingTime == .milliseconds(17_500))
        // The ACK's own poll sends nothing and stays BOUND.
        #expect(client.poll(now: requestSent + .milliseconds(5)).isEmpty)
        #expect(client.state == .bound)
        // Over the 20 s lease without answers: one REQUEST at T1, one at T2, then DISCOVER at expiry; no storm.
        var sent: [(Instant, DHCPMessageType?)] = []
        var now = requestSent + .milliseconds(5)
        while let deadline = client.nextDeadline, deadline <= requestSent + .seconds(20) {
            now = max(now, deadline)
            sent += client.poll(now: now).map { (now, $0.message.messageType) }
        }
        #expect(sent.map(\.0) == [requestSent + .seconds(10), requestSent + .milliseconds(17_500), requestSent + .seconds(20)])
        #expect(sent.map(\.1) == [.request, .request, .discover])
    }

    @Test func longerLeasesAreKept() throws {
        let (client, _) = exchange(leaseSeconds: 21)
        #expect(try #require(client.lease).leaseTime == .seconds(21))
    }
}

/// Option 12 is cut to 255 bytes on a scalar boundary; no hostname traps.
@Suite struct DHCPHostnameTests {
    func discoverHostName(_ hostname: String) -> String? {
        var client = DHCPClient(mac: Lab.clientMAC, hostname: hostname, random: SeededGenerator(seed: 8))
        client.start(now: .boot)
        return client.poll(now: .boot).first?.message.hostName
    }

    @Test func aMultiByteCharacterAcrossByte255IsLeftOutWhole() {
        let a254 = String(repeating: "a", count: 254)
        #expect(discoverHostName(a254 + "é") == a254)                      // é is bytes 255–256
        #expect(discoverHostName(String(a254.dropLast()) + "é") == String(a254.dropLast()) + "é")   // ends at 255
        #expect(discoverHostName(String(a254.dropLast()) + "😀x") == String(a254.dropLast()))      // 4 bytes at 254
        #expect(discoverHostName(String(repeating: "é", count: 200))?.utf8.count == 254)
        #expect(discoverHostName("short") == "short")
    }

    @Test func anEmptyHostnameSendsNoOption() {
        #expect(discoverHostName("") == nil)
        #expect(DHCPClient.truncated("😀", toUTF8Bytes: 3) == "")
    }
}

/// yiaddr must be an address a host may hold (RFC 1122 §3.2.1.3); anything else is a counted malformed drop.
@Suite struct DHCPYourAddressTests {
    static let invalid: [(IPv4Address, IPv4Address?)] = [
        (.broadcast, nil), (IPv4Address(224, 0, 0, 5), nil), (IPv4Address(239, 1, 2, 3), nil),
        (IPv4Address(127, 0, 0, 1), nil), (IPv4Address(0, 1, 2, 3), nil), (IPv4Address(240, 0, 0, 1), nil),
        (IPv4Address(198, 51, 100, 0), .mask(prefixLength: 24)), (IPv4Address(198, 51, 100, 255), .mask(prefixLength: 24)),
        (IPv4Address(10, 1, 255, 255), .mask(prefixLength: 16)),
    ]

    func reply(_ type: DHCPMessageType, to message: DHCPMessage, yourAddress: IPv4Address, mask: IPv4Address?) -> DHCPMessage {
        var options: [DHCPOption] = [.messageType(type), .serverIdentifier(Lab.server), .ipAddressLeaseTime(600)]
        if let mask { options.append(.address(.subnetMask, mask)) }
        return DHCPMessage(op: .bootReply, transactionID: message.transactionID, yourAddress: yourAddress,
                           clientHardwareAddress: Lab.clientMAC, options: options)
    }

    @Test func offersAndAcksWithAnAddressNoHostMayHoldAreMalformed() {
        var client = DHCPClient(mac: Lab.clientMAC, random: SeededGenerator(seed: 3))
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        for (address, mask) in Self.invalid {
            #expect(client.handle(reply(.offer, to: discover, yourAddress: address, mask: mask), now: .boot)
                    == .ignored(.dhcpMalformed), "OFFER of \(address)")
        }
        #expect(client.state == .selecting)
        #expect(client.handle(reply(.offer, to: discover, yourAddress: Lab.offered, mask: .mask(prefixLength: 24)),
                              now: .boot) == .accepted)
        let request = client.poll(now: .boot)[0].message
        for (address, mask) in Self.invalid {
            #expect(client.handle(reply(.ack, to: request, yourAddress: address, mask: mask), now: .boot)
                    == .ignored(.dhcpMalformed), "ACK of \(address)")
        }
        #expect(client.state == .requesting && client.lease == nil)
    }

    @Test func pointToPointSubnetsHaveNoNetworkOrBroadcastAddress() {
        // RFC 3021: both addresses of a /31 are hosts.
        #expect(IPv4Address(198, 51, 100, 0).isUnicastHostAddress(subnetMask: .mask(prefixLength: 31)))
        #expect(IPv4Address(198, 51, 100, 1).isUnicastHostAddress(subnetMask: .mask(prefixLength: 31)))
        #expect(IPv4Address(198, 51, 100, 7).isUnicastHostAddress(subnetMask: .mask(prefixLength: 32)))
        #expect(IPv4Address(198, 51, 100, 0).isUnicastHostAddress(subnetMask: nil))
        #expect(IPv4Address(223, 255, 255, 254).isUnicastHostAddress)
    }

    @Test func throughTheStackABroadcastOfferIsACountedMalformedDrop() throws {
        let harness = StackHarness()
        harness.start()
        let discover = try parseDHCP(harness.sent()[0])
        harness.server.offered = IPv4Address(198, 51, 100, 255)
        harness.receive(try harness.server.reply(.offer, to: discover))
        #expect(harness.stack.counters.drops(.dhcpMalformed) == 1)
        #expect(harness.stack.dhcpState == .selecting && harness.sent().isEmpty)
    }
}
