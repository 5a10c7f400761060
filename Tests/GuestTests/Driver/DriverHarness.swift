import Glibc
import Synchronization
import Virtio
import Emulator
@testable import Guest

/// An in-memory backend shared with the device thread: packets to deliver, packets transmitted.
final class ThreadedFakeBackend: NetBackend, @unchecked Sendable {
    private struct State {
        var incoming: [[UInt8]] = []
        var head = 0
        var transmitted: [[UInt8]] = []
    }
    private let state = Mutex(State())
    private let readable: EventNotifier
    let vnetHeaderSize = 10
    let maximumPacketSize = 65_565
    var pollFD: Int32 { readable.fd }

    init() throws { readable = try EventNotifier() }

    func inject(_ packets: [[UInt8]]) {
        state.withLock {
            $0.incoming.append(contentsOf: packets)
            readable.signal()
        }
    }

    var transmitted: [[UInt8]] { state.withLock { $0.transmitted } }
    var transmittedCount: Int { state.withLock { $0.transmitted.count } }
    var pendingCount: Int { state.withLock { $0.incoming.count - $0.head } }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        state.withLock { s in
            guard s.head < s.incoming.count else {
                readable.drain()
                return nil
            }
            let packet = s.incoming[s.head]
            s.head += 1
            if s.head == s.incoming.count { readable.drain() }
            packet.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: min(packet.count, buffer.count)) }
            return min(packet.count, buffer.count)
        }
    }

    func transmit(_ packet: UnsafeRawBufferPointer) throws -> Bool {
        state.withLock { $0.transmitted.append(Array(packet)) }
        return true
    }
}

/// A FrameStack that records every frame and, if `echo`, sends it back; frames can also be queued to send.
final class EchoStack: FrameStack, @unchecked Sendable {
    let echo: Bool
    private let received = Mutex<[[UInt8]]>([])
    private var outgoing: [[UInt8]] = []
    private var outgoingHead = 0
    let started = Atomic<Bool>(false)

    init(echo: Bool) { self.echo = echo }

    var receivedFrames: [[UInt8]] { received.withLock { $0 } }
    var receivedCount: Int { received.withLock { $0.count } }

    func enqueue(_ frames: [[UInt8]]) { outgoing.append(contentsOf: frames) }

    func start(now: Instant) { started.store(true, ordering: .relaxed) }
    func receive(frame: UnsafeRawBufferPointer, now: Instant) {
        let bytes = Array(frame)
        received.withLock { $0.append(bytes) }
        if echo { outgoing.append(bytes) }
    }
    func poll(now: Instant) {}
    func nextDeadline() -> Instant? { nil }
    func dequeueTransmit() -> [UInt8]? {
        guard outgoingHead < outgoing.count else {
            if outgoingHead > 0 { outgoing.removeAll(keepingCapacity: true); outgoingHead = 0 }
            return nil
        }
        defer { outgoingHead += 1 }
        return outgoing[outgoingHead]
    }
    func requeueTransmit(_ frame: [UInt8]) {
        precondition(outgoingHead > 0 && outgoing[outgoingHead - 1] == frame, "requeue of a frame not just dequeued")
        outgoingHead -= 1
    }
}

/// A frame of `length` bytes carrying `sequence` after the Ethernet header, distinctive everywhere else.
func sequencedFrame(_ sequence: Int, length: Int) -> [UInt8] {
    var frame = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ sequence) }
    withUnsafeBytes(of: UInt32(sequence).bigEndian) { frame.replaceSubrange(14..<18, with: $0) }
    return frame
}

func sequence(of frame: [UInt8]) -> Int {
    Int(frame[14]) << 24 | Int(frame[15]) << 16 | Int(frame[16]) << 8 | Int(frame[17])
}

/// Polls `condition` every millisecond until it holds or `timeout` passes (real threads: the wait is bounded).
func waitUntil(timeout: Duration = .seconds(60), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}
