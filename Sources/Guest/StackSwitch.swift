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
/// - Admission: at most `parallel` identities are between their first DISCOVER and their first lease; when one is
///   bound, the next one starts (as perfdhcp's `-R`/rate knobs keep a server from being flooded).
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
        public init() {}
    }

    /// The identities, in the order they were given (the index is the identity's number in reports).
    public let stacks: [NetworkStack]
    /// Identities allowed between their first DISCOVER and their first lease at once.
    public let parallel: Int
    public private(set) var counters = Counters()

    private let byMAC: [MACAddress: Int]
    private var started: [Bool]
    /// Whether the identity got its first lease (it no longer counts against `parallel`).
    private var settled: [Bool]
    private var nextToStart = 0
    private var inFlight = 0
    private var deadlines: [Instant?]
    /// Identities that may have frames to send, in turn order; `queued[i]` says whether `i` is in `turns`.
    private var turns: [Int] = []
    private var turnHead = 0
    private var queued: [Bool]
    /// Frames given back by `requeueTransmit`, sent before any other.
    private var requeued: [[UInt8]] = []
    private var events: [(identity: Int, event: StackEvent)] = []

    /// A switch over `stacks` (their MACs must differ). `parallel` (at least 1) limits identities mid-exchange.
    public init(stacks: [NetworkStack], parallel: Int? = nil) {
        precondition(!stacks.isEmpty, "a switch needs at least one stack")
        var byMAC: [MACAddress: Int] = [:]
        for (index, stack) in stacks.enumerated() {
            precondition(byMAC.updateValue(index, forKey: stack.configuration.mac) == nil, "two identities share \(stack.configuration.mac)")
        }
        self.stacks = stacks
        self.byMAC = byMAC
        self.parallel = max(1, min(parallel ?? stacks.count, stacks.count))
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
        if !destination.isMulticast {
            guard let index = byMAC[destination], started[index] else {
                counters.dropped += 1
                return
            }
            counters.unicastDelivered += 1
            deliver(frame, to: index, now: now)
        } else if let chaddr = Self.broadcastDHCPReplyClient(frame) {
            guard let index = byMAC[chaddr], started[index] else {
                counters.dropped += 1
                return
            }
            counters.dhcpSteered += 1
            deliver(frame, to: index, now: now)
        } else {
            counters.flooded += 1
            for index in stacks.indices where started[index] { deliver(frame, to: index, now: now) }
        }
        admit(now: now)
    }

    /// Polls only the stacks whose deadline has come.
    public func poll(now: Instant) {
        for index in stacks.indices {
            guard let deadline = deadlines[index], deadline <= now else { continue }
            stacks[index].poll(now: now)
            collect(index)
        }
        admit(now: now)
    }

    public func nextDeadline() -> Instant? {
        var earliest: Instant?
        for case let deadline? in deadlines where earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
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
        body(stacks[index])
        collect(index)
        admit(now: now)
    }

    /// Releases every identity that holds a lease (RFC 2131 §4.4.6) and returns their numbers. The RELEASE is
    /// unicast to the server, so it may first wait for ARP: `releasesPending(_:)` says when all have left.
    @discardableResult
    public func releaseAll(now: Instant) -> [(identity: Int, server: IPv4Address)] {
        var released: [(identity: Int, server: IPv4Address)] = []
        for index in stacks.indices {
            guard let lease = stacks[index].lease else { continue }
            stacks[index].release(now: now)
            collect(index)
            released.append((index, lease.server))
        }
        return released
    }

    /// How many of `released` still hold their RELEASE: queued for the card or waiting for the server's MAC.
    public func releasesPending(_ released: [(identity: Int, server: IPv4Address)]) -> Int {
        released.count { entry in
            let stack = stacks[entry.identity]
            return !stack.transmitQueue.isEmpty || stack.neighbors.isResolving(entry.server)
        } + requeued.count
    }

    // MARK: Internals

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
            inFlight -= 1
        }
    }

    /// Starts identities while fewer than `parallel` are mid-exchange.
    private func admit(now: Instant) {
        while inFlight < parallel, nextToStart < stacks.count {
            let index = nextToStart
            nextToStart += 1
            started[index] = true
            inFlight += 1
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

    /// The chaddr of a broadcast DHCP reply (IPv4, UDP from port 67 to port 68, BOOTREPLY), or nil for any other
    /// frame. Only lengths are checked here: the stack that receives it checks everything (checksums included).
    static func broadcastDHCPReplyClient(_ frame: UnsafeRawBufferPointer) -> MACAddress? {
        guard let ethernet = try? EthernetFrame(frame), ethernet.etherType == .ipv4,
              let ip = try? IPv4Packet(ethernet.payload), ip.protocol == .udp, !ip.isFragment,
              let udp = try? UDPDatagram(ip.payload), udp.sourcePort == DHCPPacket.serverPort,
              udp.destinationPort == DHCPPacket.clientPort,
              let dhcp = try? DHCPPacket(udp.payload), dhcp.op == .bootReply else { return nil }
        return dhcp.clientHardwareAddress
    }
}

extension NetworkStack {
    /// Starts a renewal now instead of at T1: a unicast DHCPREQUEST to the server, as at T1 (RFC 2131 §4.4.5; a
    /// client may extend its lease at any time). Only in BOUND; otherwise nothing happens.
    public func renewNow(now: Instant) {
        dhcpClient.renewNow(now: now)
        runDHCP(now: now)
    }
}

extension DHCPClient {
    /// Moves the T1 timer to `now` in BOUND, so the next poll enters RENEWING.
    mutating func renewNow(now: Instant) {
        guard state == .bound else { return }
        deadline = now
    }
}
