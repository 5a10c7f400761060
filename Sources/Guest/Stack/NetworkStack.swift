import Wire

/// The guest's network stack: Ethernet II, ARP, IPv4, ICMP echo, UDP and a DHCPv4 client, as a sans-IO core.
///
/// The vCPU loop hands it received frames (`receive(frame:now:)`), runs its timers (`poll(now:)` at
/// `nextDeadline()`), and takes the frames it wants sent (`dequeueTransmit()`). It never reads a clock and never
/// blocks; all randomness comes from the `SeededGenerator` it was given, so the same seed and the same input give the
/// same bytes out. Every received frame is either consumed or a counted drop with a `DropReason`.
public final class NetworkStack: FrameStack {
    public let configuration: StackConfiguration
    var random: SeededGenerator
    var dhcpClient: DHCPClient
    /// The IPv4 configuration from the lease; nil until bound.
    public internal(set) var interface: IPv4Interface?
    var neighbors = NeighborCache()
    var pinger: ICMPEcho
    /// Frames for the TX ring; bounded, overflow is a counted `transmitQueueOverflow` drop.
    var transmitQueue = TransmitQueue()
    /// Events for the caller, drained by `drainEvents()`. Drops are not events (a flood would grow this without
    /// bound between two drains): they are counted in `counters` only.
    var events: [StackEvent] = []
    public internal(set) var counters = StackCounters()
    /// The IPv4 identification of the next datagram (RFC 791 §3.2; RFC 6864 allows a simple counter).
    var nextIdentification: UInt16
    /// Paces the ICMP errors the stack sends (port unreachable).
    var icmpErrorLimiter = ICMPErrorRateLimiter()
    /// Whether `configuration.pingTargets` were started (at the first bind).
    var configuredPingsStarted = false
    /// The IPv6 host side (NetworkStack+IPv6.swift).
    var ipv6: IPv6State
    /// The DHCPv6 client (NetworkStack+DHCPv6.swift), started by the routers' M/O flags.
    var dhcpv6Client: DHCPv6Client

    /// A stack for the guest with `configuration`; `random` seeds the DHCP client, the IPv4 identification and the
    /// ICMP identifiers.
    public init(configuration: StackConfiguration, random: SeededGenerator) {
        self.configuration = configuration
        var random = random
        dhcpClient = DHCPClient(mac: configuration.mac, hostname: configuration.hostname,
                                configuration: configuration.dhcp, random: random.split())
        nextIdentification = UInt16.random(in: .min ... .max, using: &random)
        pinger = ICMPEcho(interval: configuration.pingInterval, timeout: configuration.pingTimeout)
        ipv6 = IPv6State(configuration: configuration.ipv6, mac: configuration.mac, pingInterval: configuration.pingInterval,
                         pingTimeout: configuration.pingTimeout,
                         // Drawn only with IPv6 on, so an IPv4-only guest's bytes do not depend on it.
                         random: configuration.ipv6.enabled ? random.split() : SeededGenerator(seed: 0))
        dhcpv6Client = DHCPv6Client(mac: configuration.mac, configuration: configuration.dhcpv6,
                                    random: configuration.ipv6.enabled ? random.split() : SeededGenerator(seed: 0))
        self.random = random
    }

    /// The lease in force, if any.
    public var lease: DHCPLease? { dhcpClient.lease }

    /// The DHCP client's state.
    public var dhcpState: DHCPClient.State { dhcpClient.state }

    /// The DHCP client's NAK, DECLINE, retransmission and conflict counts.
    public var dhcpCounters: DHCPClient.Counters { dhcpClient.counters }

    /// Events since the last call, in order.
    public func drainEvents() -> [StackEvent] {
        defer { events.removeAll() }
        return events
    }

    // MARK: FrameStack

    /// Starts the DHCP client (INIT); the DISCOVER goes out at once. RFC 2131 §4.4.1.
    public func start(now: Instant) {
        dhcpClient.start(now: now)
        runDHCP(now: now)
        startIPv6(now: now)
    }

    /// Demultiplexes one received frame by destination MAC and EtherType; anything not for us is a counted drop.
    public func receive(frame: UnsafeRawBufferPointer, now: Instant) {
        counters.ethernet.received += 1
        let ethernet: EthernetFrame
        do { ethernet = try EthernetFrame(frame) } catch { return drop(.ethernetMalformed) }
        let destination = ethernet.destination
        if destination != configuration.mac && !destination.isBroadcast && !acceptsMulticast(destination) {
            return drop(destination.isMulticast ? .multicastNotJoined : .notOurMAC)
        }
        switch ethernet.etherType {
        case .arp: receiveARP(ethernet.payload, now: now)
        case .ipv4: receiveIPv4(ethernet.payload, linkLayerBroadcast: destination.isBroadcast, now: now)
        case .ipv6: receiveIPv6(ethernet, now: now)
        default: drop(.unsupportedEtherType)
        }
    }

    /// Runs the DHCP timers, ARP retries and expiries, and due echo requests and timeouts.
    public func poll(now: Instant) {
        runDHCP(now: now)
        runNeighbors(now: now)
        runPinger(now: now)
        runIPv6(now: now)
        runDHCPv6(now: now)
    }

    /// The earliest of the DHCP client's, the ARP cache's, the pinger's, the IPv6 side's and the DHCPv6 client's
    /// deadlines.
    public func nextDeadline() -> Instant? {
        dhcpClient.nextDeadline.earliest(neighbors.nextDeadline).earliest(pinger.nextDeadline).earliest(ipv6Deadline)
            .earliest(dhcpv6Deadline)
    }

    public func dequeueTransmit() -> [UInt8]? {
        transmitQueue.dequeue()
    }

    public func requeueTransmit(_ frame: [UInt8]) {
        transmitQueue.requeue(frame)
    }

    // MARK: Commands

    /// Pings `target` `count` times (`pingInterval` apart, `pingTimeout` each); the session always ends with one
    /// `pingsFinished`. Without a lease nothing can be sent: it ends at once with `pingsFinished(target, sent: 0,
    /// received: 0)`, so a caller never waits for nothing.
    public func ping(_ target: IPv4Address, count: Int, now: Instant) {
        guard interface != nil else {
            events.append(.pingsFinished(target: target, sent: 0, received: 0))
            return
        }
        pinger.start(target: target, count: count, identifier: UInt16.random(in: .min ... .max, using: &random), now: now)
        runPinger(now: now)
    }

    /// Gives the lease back with a DHCPRELEASE unicast to the server (RFC 2131 §4.4.6), and DHCPv6 addresses
    /// with a Release to ff02::1:2 (RFC 8415 §18.2.7); the clients then stay idle.
    public func release(now: Instant) {
        dhcpClient.release(now: now)
        runDHCP(now: now)
        releaseDHCPv6(now: now)
    }

    // MARK: Internals shared by the protocol files

    func drop(_ reason: DropReason, count: Int = 1) {
        guard count > 0 else { return }
        counters.countDrop(reason, count: count)
    }

    /// Sends what the DHCP client has due, then applies its events (the RELEASE must leave before the address goes).
    ///
    /// When the address is lost, or a renewal changes the address or mask, the ARP cache is flushed (its queued
    /// datagrams carry the old source; counted as `neighborFlushed`), keeping only a RELEASE waiting for the
    /// server's MAC; on loss the running pings end with `pingsFinished`.
    func runDHCP(now: Instant) {
        var releaseServer: IPv4Address?
        for outgoing in dhcpClient.poll(now: now) {
            if outgoing.message.messageType == .release, case let .unicast(server) = outgoing.destination {
                releaseServer = server
            }
            sendDHCP(outgoing, now: now)
        }
        for probe in dhcpClient.drainARP() { sendARP(probe, to: .broadcast) }
        for event in dhcpClient.drainEvents() {
            switch event {
            case let .transition(transition):
                events.append(.dhcp(transition))
            case let .bound(lease, times):
                setInterface(IPv4Interface(lease: lease))
                events.append(.leaseBound(lease, times))
                startPingsAfterBind(lease: lease, now: now)
            case let .renewed(lease):
                setInterface(IPv4Interface(lease: lease))
                events.append(.leaseRenewed(lease))
            case let .lost(reason):
                setInterface(nil, keepingNeighbor: releaseServer)
                events.append(.leaseLost(reason: reason))
                events += pinger.stopAll()
            case let .nak(state, server, message):
                events.append(.dhcpNAK(state: state, server: server, message: message))
            case let .declined(address, reason):
                events.append(.addressDeclined(address, reason: reason))
            case let .conflictDefended(address, other):
                events.append(.conflictDefended(address, by: other))
            case let .ipv6OnlyPreferred(wait):
                events.append(.ipv6OnlyPreferred(wait: wait))
            }
        }
    }

    /// Applies a new configuration; flushes the ARP cache when the address or mask changes or goes.
    func setInterface(_ new: IPv4Interface?, keepingNeighbor kept: IPv4Address? = nil) {
        let old = interface
        interface = new
        guard let old, old.address != new?.address || old.subnetMask != new?.subnetMask else { return }
        drop(.neighborFlushed, count: neighbors.flush(keepingLatestFor: kept))
    }

    /// Starts `configuration.pingTargets` at the first bind. `.router` without a router in the lease ends at once
    /// with `pingsFinished(target: 0.0.0.0, sent: 0, received: 0)`.
    func startPingsAfterBind(lease: DHCPLease, now: Instant) {
        guard !configuredPingsStarted else { return }
        configuredPingsStarted = true
        for target in configuration.pingTargets {
            switch target {
            case .router:
                guard let router = lease.router else {
                    events.append(.pingsFinished(target: .any, sent: 0, received: 0))
                    continue
                }
                ping(router, count: configuration.pingCount, now: now)
            case let .address(address):
                ping(address, count: configuration.pingCount, now: now)
            }
        }
    }

    func runNeighbors(now: Instant) {
        let due = neighbors.poll(now: now)
        for address in due.requests { sendARPRequest(for: address) }
        for failure in due.failures { drop(.arpResolutionFailed, count: failure.droppedPackets) }
    }

    func runPinger(now: Instant) {
        let (requests, pingEvents) = pinger.poll(now: now)
        events += pingEvents
        for request in requests { sendICMP(request.message, to: request.target, now: now) }
    }
}
