import Wire

/// What the vCPU loop drives: a sans-IO network stack that consumes received Ethernet frames (without the
/// virtio_net_hdr), produces frames to transmit, and runs timers when polled. Called from one thread only.
public protocol FrameStack: AnyObject {
    /// Called once when the guest boots (link up): start DHCP and the like.
    func start(now: Instant)
    /// One received Ethernet frame, starting at the destination MAC. The bytes are valid only during the call.
    func receive(frame: UnsafeRawBufferPointer, now: Instant)
    /// Runs every timer that is due at `now`.
    func poll(now: Instant)
    /// The earliest instant at which `poll(now:)` has work, or nil if none is scheduled.
    func nextDeadline() -> Instant?
    /// The next Ethernet frame to send (starting at the destination MAC), or nil when none is waiting.
    func dequeueTransmit() -> [UInt8]?
    /// Puts a frame back at the head of the transmit queue (the TX ring was full).
    func requeueTransmit(_ frame: [UInt8])
}
