import Wire

/// Many guests behind one card: N `NetworkStack`s, each with its own MAC, sharing one virtio-net card and one
/// vCPU, as N hosts share one switch port through a learning bridge.
///
/// The card must hand the switch frames for every identity's MAC: a passthru macvtap does (it has no MAC filter,
/// MACVTAP-FACTS §1), a bridge-mode one only delivers its own MAC (§4). The kernel does no source-MAC check on
/// transmit (§4, surprise 11), so each stack sends with its own MAC as it would on its own card.
///
/// - Receive: a unicast frame goes to the stack whose MAC it names (one dictionary lookup); a frame for no
///   identity is a counted drop. A broadcast DHCP reply (RFC 2131 §4.1, broadcast bit) goes only to the stack
///   whose MAC is its `chaddr`; any other broadcast or multicast frame goes to every stack.
/// - Transmit: the stacks' queues are merged round-robin, one frame per stack per turn, so no identity waits
///   behind another's burst.
/// - Timers: the switch remembers each stack's deadline and polls only the stacks that are due.
/// - Admission: at most `parallel` identities are between their first DISCOVER and their first lease at once; when one is
///   bound, the next one starts. Starts are also at least `spacing` apart, and the RELEASEs of `releaseAll`
///   `releaseSpacing` apart (perfdhcp's `-r` rate): a server reads from one UDP socket whose buffer holds a few hundred datagrams (dnsmasq: about 160 with
///   the default 208 KiB `rmem_default`), and a burst beyond it is dropped and costs a 4 s retransmission.
///
/// Called from the vCPU thread only, like every `FrameStack`.
public final class StackSwitch: FrameStack {
    /// What the switch did with frames, beside the stacks' own counters.
    public struct Counters: Sendable, Equatable {
        /// Unicast frames handed to the one stack they name.
        public var unicastDelivered = 0
        /// Broadcast DHCP replies handed only to the stack named by their chaddr.
        public var dhcpSteered = 0
        /// Broadcast or multicast frames copied to every stack.
        public var flooded = 0
        /// Frames for a MAC no identity holds (a passthru card receives the whole segment), or too short to read.
        public var dropped = 0
        /// Identities that held a `parallel` slot for `admissionTimeout` without a lease (no answer, NAK or
        /// DECLINE loops): their slot went to the next identity; they keep trying.
        public var admissionsTimedOut = 0
        public init() {}
    }

    /// The identities, in the order they were given (the index is the identity's number in reports).
    public let stacks: [NetworkStack]
    /// Identities allowed between their first DISCOVER and their first lease at once.
    public let parallel: Int
    /// The least time between two starts.
    public let spacing: Duration
    /// The least time between two RELEASEs of `releaseAll`.
    public let releaseSpacing: Duration
    /// How long a started identity may hold its `parallel` slot without a lease before it is given up on (its
    /// slot freed, `counters.admissionsTimedOut` counted); default 64 s, DHCP's four retransmissions
    /// (4 + 8 + 16 + 32 s, RFC 2131 §4.1).
    public let admissionTimeout: Duration
    public private(set) var counters = Counters()

    private let byMAC: [MACAddress: Int]
    private var started: [Bool]
    /// Whether the identity got its first lease (it no longer counts against `parallel`).
    private var settled: [Bool]
    private var nextToStart = 0
    private var inFlight = 0
    private var deadlines: [Instant?]
    /// When each started identity must have its lease by to keep its slot; nil once settled or given up on.
    private var admissionDeadlines: [Instant?]
    /// Identities that may have frames to send, in turn order; `queued[i]` says whether `i` is in `turns`.
    private var turns: [Int] = []
    private var turnHead = 0
    private var queued: [Bool]
    /// Frames given back by `requeueTransmit`, sent before any other.
    private var requeued: [[UInt8]] = []
    private var events: [(identity: Int, event: StackEvent)] = []
    /// The earliest instant for the next start and the next paced RELEASE.
    private var nextStartAt = Instant.boot
    private var nextReleaseAt = Instant.boot
    /// Identities whose RELEASE is still to be sent by `runReleases`, in order.
    private var releaseQueue: [Int] = []
    /// The Ethernet address each DHCP server's replies came from, by its IPv4 source address: learned only from a
    /// reply the receiving identity accepted (it bound or renewed a lease from that server), at most
    /// `maximumServers` of them, so a forged BOOTREPLY (any xid, any source) cannot poison it or grow it.
    private(set) var serverMACs: [IPv4Address: MACAddress] = [:]
    static let maximumServers = 16

    /// A switch over `stacks` (their MACs must differ). `parallel` (at least 1) limits identities mid-exchange;
    /// `spacing` separates starts and `releaseSpacing` the RELEASEs of `releaseAll`.
    public init(stacks: [NetworkStack], parallel: Int? = nil, spacing: Duration = .zero, releaseSpacing: Duration = .zero,
                admissionTimeout: Duration = .seconds(64)) {
        precondition(!stacks.isEmpty, "a switch needs at least one stack")
        var byMAC: [MACAddress: Int] = [:]
        for (index, stack) in stacks.enumerated() {
            precondition(byMAC.updateValue(index, forKey: stack.configuration.mac) == nil, "two identities share \(stack.configuration.mac)")
        }
        self.stacks = stacks
        self.byMAC = byMAC
        self.parallel = max(1, min(parallel ?? stacks.count, stacks.count))
        self.spacing = max(spacing, .zero)
        self.releaseSpacing = max(releaseSpacing, .zero)
        self.admissionTimeout = max(admissionTimeout, .zero)
        admissionDeadlines = Array(repeating: nil, count: stacks.count)
        started = Array(repeating: false, count: stacks.count)
        settled = Array(repeating: false, count: stacks.count)
        deadlines = Array(repeating: nil, count: stacks.count)
        queued = Array(repeating: false, count: stacks.count)
    }

    /// The identity that holds `mac`, if any.
    public func identity(of mac: MACAddress) -> Int? { byMAC[mac] }

    /// Whether identity `index` has been started (it may be waiting for a `parallel` slot).
    public func isStarted(_ index: Int) -> Bool { started[index] }

    /// Events of every stack since the last call, tagged with the identity, in the order they happened.
    public func drainEvents() -> [(identity: Int, event: StackEvent)] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    // MARK: FrameStack

    /// Starts the first `parallel` identities; the others start as earlier ones are bound.
    public func start(now: Instant) {
        admit(now: now)
    }

    public func receive(frame: UnsafeRawBufferPointer, now: Instant) {
        guard frame.count >= EthernetFrame.headerLength else {
            counters.dropped += 1
            return
        }
        let destination = MACAddress(frame, at: 0)
        let dhcpReply = Self.dhcpReply(frame)
        if !destination.isMulticast {
            guard let index = byMAC[destination], started[index] else {
                counters.dropped += 1
                return
            }
            counters.unicastDelivered += 1
            deliverReply(frame, dhcpReply, to: index, now: now)
        } else if let chaddr = dhcpReply?.client {
            guard let index = byMAC[chaddr], started[index] else {
                counters.dropped += 1
                return
            }
            counters.dhcpSteered += 1
            deliverReply(frame, dhcpReply, to: index, now: now)
        } else {
            counters.flooded += 1
            for index in stacks.indices where started[index] { deliver(frame, to: index, now: now) }
        }
        admit(now: now)
    }

    /// Polls only the stacks whose deadline has come.
    public func poll(now: Instant) {
        for index in stacks.indices {
            if let deadline = admissionDeadlines[index], deadline <= now {
                admissionDeadlines[index] = nil
                settled[index] = true
                inFlight -= 1
                counters.admissionsTimedOut += 1
            }
            guard let deadline = deadlines[index], deadline <= now else { continue }
            primeServer(index, now: now)
            stacks[index].poll(now: now)
            collect(index)
        }
        runReleases(now: now)
        admit(now: now)
    }

    public func nextDeadline() -> Instant? {
        var earliest: Instant?
        if inFlight < parallel, nextToStart < stacks.count { earliest = nextStartAt }
        if !releaseQueue.isEmpty { earliest = min(earliest ?? nextReleaseAt, nextReleaseAt) }
        for case let deadline? in deadlines where earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
        for case let deadline? in admissionDeadlines where earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
        return earliest
    }

    /// The next frame in round-robin order over the identities that have frames waiting.
    public func dequeueTransmit() -> [UInt8]? {
        if !requeued.isEmpty { return requeued.removeFirst() }
        while turnHead < turns.count {
            let index = turns[turnHead]
            turnHead += 1
            if let frame = stacks[index].dequeueTransmit() {
                if stacks[index].transmitQueue.isEmpty {
                    queued[index] = false
                } else {
                    turns.append(index)
                }
                compactTurns()
                return frame
            }
            queued[index] = false
        }
        turns.removeAll(keepingCapacity: true)
        turnHead = 0
        return nil
    }

    public func requeueTransmit(_ frame: [UInt8]) {
        requeued.insert(frame, at: 0)
    }

    // MARK: Commands

    /// Runs `body` on identity `index`'s stack (a command such as `release(now:)`), then takes its output and events.
    public func perform(on index: Int, now: Instant, _ body: (NetworkStack) -> Void) {
        primeServer(index, now: now)
        body(stacks[index])
        collect(index)
        admit(now: now)
    }

    /// Releases every identity that holds a lease, or an ACKed one still being checked (PROBING, which
    /// `DHCPClient.release` handles), (RFC 2131 §4.4.6), `releaseSpacing` apart, and returns their numbers
    /// with their servers. The RELEASE is unicast to the server, so it may first wait for ARP:
    /// `releasesPending(_:)` says when all have left.
    @discardableResult
    public func releaseAll(now: Instant) -> [(identity: Int, server: IPv4Address)] {
        var released: [(identity: Int, server: IPv4Address)] = []
        for index in stacks.indices {
            guard let lease = stacks[index].lease ?? stacks[index].dhcpClient.pendingLease,
                  !releaseQueue.contains(index) else { continue }
            releaseQueue.append(index)
            released.append((index, lease.server))
        }
        runReleases(now: now)
        return released
    }

    /// How many of `released` still hold their RELEASE: not yet sent (paced), queued for the card, or waiting for
    /// the server's MAC.
    public func releasesPending(_ released: [(identity: Int, server: IPv4Address)]) -> Int {
        releaseQueue.count + released.count { entry in
            let stack = stacks[entry.identity]
            return !stack.transmitQueue.isEmpty || stack.neighbors.isResolving(entry.server)
        } + requeued.count
    }

    /// Sends the RELEASEs that are due, `releaseSpacing` apart (all at once without it).
    private func runReleases(now: Instant) {
        var sent = 0
        while sent < releaseQueue.count, releaseSpacing == .zero || now >= nextReleaseAt {
            let index = releaseQueue[sent]
            sent += 1
            primeServer(index, now: now)
            stacks[index].release(now: now)
            collect(index)
            nextReleaseAt = max(nextReleaseAt + releaseSpacing, now - releaseSpacing * 4)
        }
        releaseQueue.removeFirst(sent)
    }

    // MARK: Internals

    /// Delivers a frame for one identity; when it is a DHCP reply that identity accepted (its lease from that server
    /// was bound or renewed by it), remembers the server's Ethernet source for `primeServer`.
    private func deliverReply(_ frame: UnsafeRawBufferPointer, _ dhcpReply: (client: MACAddress, server: IPv4Address, serverMAC: MACAddress)?,
                              to index: Int, now: Instant) {
        let before = events.count
        deliver(frame, to: index, now: now)
        guard let dhcpReply, !dhcpReply.serverMAC.isMulticast, stacks[index].lease?.server == dhcpReply.server,
              serverMACs[dhcpReply.server] != nil || serverMACs.count < Self.maximumServers else { return }
        let accepted = events[before...].contains { entry in
            switch entry.event {
            case .leaseBound, .leaseRenewed: entry.identity == index
            default: false
            }
        }
        if accepted { serverMACs[dhcpReply.server] = dhcpReply.serverMAC }
    }

    private func deliver(_ frame: UnsafeRawBufferPointer, to index: Int, now: Instant) {
        stacks[index].receive(frame: frame, now: now)
        collect(index)
    }

    /// After touching a stack: take its events, remember its deadline, give it a transmit turn, and free its
    /// `parallel` slot once it has its first lease.
    private func collect(_ index: Int) {
        let stack = stacks[index]
        for event in stack.drainEvents() { events.append((index, event)) }
        deadlines[index] = stack.nextDeadline()
        if !queued[index], !stack.transmitQueue.isEmpty {
            queued[index] = true
            turns.append(index)
        }
        if started[index], !settled[index], stack.lease != nil {
            settled[index] = true
            admissionDeadlines[index] = nil
            inFlight -= 1
        }
    }

    /// Starts identities while fewer than `parallel` are mid-exchange.
    private func admit(now: Instant) {
        while inFlight < parallel, nextToStart < stacks.count, spacing == .zero || now >= nextStartAt {
            // Keep the average rate after a late poll, but never burst more than a few starts to catch up.
            nextStartAt = max(nextStartAt + spacing, now - spacing * 4)
            let index = nextToStart
            nextToStart += 1
            started[index] = true
            inFlight += 1
            admissionDeadlines[index] = now + admissionTimeout
            stacks[index].start(now: now)
            collect(index)
        }
    }

    private func compactTurns() {
        if turnHead >= 64, turnHead * 2 >= turns.count {
            turns.removeFirst(turnHead)
            turnHead = 0
        }
    }

    /// For a DHCP reply (IPv4, UDP from port 67 to port 68, BOOTREPLY): its chaddr, and the server's IPv4 and
    /// Ethernet source addresses; nil for any other frame. Only lengths are checked here: the stack that receives it
    /// checks everything (checksums included).
    static func dhcpReply(_ frame: UnsafeRawBufferPointer) -> (client: MACAddress, server: IPv4Address, serverMAC: MACAddress)? {
        guard let ethernet = try? EthernetFrame(frame), ethernet.etherType == .ipv4,
              let ip = try? IPv4Packet(ethernet.payload), ip.protocol == .udp, !ip.isFragment,
              let udp = try? UDPDatagram(ip.payload), udp.sourcePort == DHCPPacket.serverPort,
              udp.destinationPort == DHCPPacket.clientPort,
              let dhcp = try? DHCPPacket(udp.payload), dhcp.op == .bootReply else { return nil }
        return (dhcp.clientHardwareAddress, ip.source, ethernet.source)
    }

    /// Gives a bound identity the server's MAC when the switch saw it on a DHCP reply from that server (lwIP's
    /// `ETHARP_TRUST_IP_MAC`, an entry gleaned from an IP packet). Without it, N identities renewing or releasing
    /// make the server answer N ARP requests and create N neighbour entries at once, and the kernel's neighbour
    /// table (shared by every namespace, gc_thresh3 = 1024) refuses the excess: the server stops answering ARP.
    private func primeServer(_ index: Int, now: Instant) {
        let stack = stacks[index]
        guard let server = stack.lease?.server, let mac = serverMACs[server], !stack.neighbors.contains(server) else { return }
        stack.neighbors.update(server, mac: mac, now: now)
    }
}
