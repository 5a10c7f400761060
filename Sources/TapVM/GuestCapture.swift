import Capture
import Guest
import Synchronization
import Wire

/// The guest capture point: a `FrameStack` decorator between the vCPU loop and the network stack that records
/// every frame the driver hands the stack and every frame the stack sends, stamped with the guest's own clock
/// (boot wall time + the `now` of the call), and the instants a replay needs (start, release).
///
/// It takes what the stack queued right after each call, so each sent frame carries the instant of the call that
/// made it (a timer's poll, a receive). Those frames wait in its own queue, bounded like the stack's
/// (`capacity`); overflow is counted in `transmitOverflow`. Called from the vCPU thread only, except the
/// instants, which the main thread reads after the vCPU stopped (through a lock anyway).
final class GuestCapture: FrameStack {
    let stack: NetworkStack
    let writer: RotatingPcapWriter?
    let bootTime: PcapTimestamp
    static let capacity = 256

    private var pending: [[UInt8]] = []
    private var head = 0
    private(set) var transmitOverflow = 0
    private(set) var captureErrors = 0

    struct Instants: Sendable {
        var start: Instant?
        var release: Instant?
    }

    let instants = Mutex(Instants())

    init(stack: NetworkStack, writer: RotatingPcapWriter?, bootTime: PcapTimestamp) {
        self.stack = stack
        self.writer = writer
        self.bootTime = bootTime
    }

    func start(now: Instant) {
        instants.withLock { $0.start = now }
        stack.start(now: now)
        takeTransmitted(now: now)
    }

    func receive(frame: UnsafeRawBufferPointer, now: Instant) {
        record(frame, now: now)
        stack.receive(frame: frame, now: now)
        takeTransmitted(now: now)
    }

    func poll(now: Instant) {
        stack.poll(now: now)
        takeTransmitted(now: now)
    }

    func nextDeadline() -> Instant? { stack.nextDeadline() }

    func dequeueTransmit() -> [UInt8]? {
        guard head < pending.count else { return nil }
        let frame = pending[head]
        head += 1
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        }
        return frame
    }

    func requeueTransmit(_ frame: [UInt8]) {
        if head > 0 {
            head -= 1
            pending[head] = frame
        } else {
            pending.insert(frame, at: 0)
        }
    }

    /// `NetworkStack.release(now:)`, with its instant recorded for the sidecar. Returns how many frames wait for
    /// the driver now: what the release queued (a DHCPRELEASE, a DHCPv6 Release, an ARP request for the server)
    /// behind whatever was already waiting (an MLD report, a DAD probe).
    @discardableResult
    func release(now: Instant) -> Int {
        instants.withLock { $0.release = now }
        stack.release(now: now)
        takeTransmitted(now: now)
        return pending.count - head
    }

    private func takeTransmitted(now: Instant) {
        while let frame = stack.dequeueTransmit() {
            guard pending.count - head < Self.capacity else {
                transmitOverflow += 1
                continue
            }
            frame.withUnsafeBytes { record($0, now: now) }
            pending.append(frame)
        }
    }

    private func record(_ frame: UnsafeRawBufferPointer, now: Instant) {
        guard let writer else { return }
        do {
            try writer.write(frame: frame, timestamp: bootTime.adding(nanoseconds: now.nanoseconds))
        } catch {
            captureErrors += 1
        }
    }
}

/// What the user asked to capture: `--pcap FILE [--pcap-point P] [--pcap-limit MB]`.
public struct CaptureOptions: Sendable, Equatable {
    public var path: String
    public var point: CapturePoint
    /// Megabytes (10^6 bytes) per file before rotating to FILE.1, FILE.2, ...; nil for one file.
    public var limitMegabytes: Int?

    public init(path: String, point: CapturePoint = .guest, limitMegabytes: Int? = nil) {
        self.path = path
        self.point = point
        self.limitMegabytes = limitMegabytes
    }
}

/// A machine's capture files and their sidecars.
final class CaptureSet: @unchecked Sendable {
    let wire: RotatingPcapWriter?
    let guest: RotatingPcapWriter?
    /// The wall-clock time of the guest's `Instant.boot`.
    let bootTime: PcapTimestamp
    private var sidecar: CaptureSidecar?

    init(options: CaptureOptions?, bootTime: PcapTimestamp) throws(PcapError) {
        self.bootTime = bootTime
        let limit = options?.limitMegabytes.map { $0 * 1_000_000 }
        switch options?.point {
        case nil:
            wire = nil
            guest = nil
        case .wire?:
            wire = try RotatingPcapWriter(path: options!.path, limitBytes: limit)
            guest = nil
        case .guest?:
            wire = nil
            guest = try RotatingPcapWriter(path: options!.path, limitBytes: limit)
        case .both?:
            wire = try RotatingPcapWriter(path: options!.path, limitBytes: limit)
            guest = try RotatingPcapWriter(path: CapturePoint.guestPath(for: options!.path), limitBytes: limit)
        }
    }

    var isEmpty: Bool { wire == nil && guest == nil }

    /// Writes the first sidecars (what is known at boot).
    func describe(_ sidecar: CaptureSidecar) {
        self.sidecar = sidecar
        writeSidecars(start: nil, release: nil, stop: nil)
    }

    /// Closes the files (flushed) and rewrites the sidecars with the guest's instants and the rotated files.
    func close(start: Instant?, release: Instant?, stop: Instant) {
        try? wire?.close()
        try? guest?.close()
        writeSidecars(start: start, release: release, stop: stop)
    }

    private func writeSidecars(start: Instant?, release: Instant?, stop: Instant?) {
        guard var sidecar else { return }
        sidecar.startNanoseconds = start?.nanoseconds
        sidecar.releaseNanoseconds = release?.nanoseconds
        sidecar.stopNanoseconds = stop?.nanoseconds
        for (writer, point) in [(wire, CapturePoint.wire), (guest, .guest)] {
            guard let writer else { continue }
            sidecar.point = point
            sidecar.files = writer.files
            sidecar.frames = stop == nil ? nil : writer.framesWritten
            try? sidecar.write(for: writer.path)
        }
    }
}
