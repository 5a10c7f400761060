/// Where the device's frames come from and go to: the macvtap fd in TapVM, an in-memory fake in tests.
/// Every packet starts with a `vnetHeaderSize`-byte virtio_net_hdr (10 for a fresh macvtap fd).
public protocol NetBackend: AnyObject {
    /// Readable when a packet waits, writable when a packet can be written.
    var pollFD: Int32 { get }
    /// Bytes of virtio_net_hdr at the start of every packet (10 for the macvtap fd; 0 for none).
    var vnetHeaderSize: Int { get }
    /// The largest packet (header included) `receive` can return; the device reads into a buffer one byte larger,
    /// so a read that fills it is known to be truncated (and is dropped).
    var maximumPacketSize: Int { get }
    /// Reads one packet including its header into `buffer`; returns its length, or nil when none waits (EAGAIN).
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int?
    /// Writes one packet including its header. Returns false when the fd is full (EAGAIN: nothing was written);
    /// the device then puts the chain back and retries once `pollFD` is writable. Throws for a packet the
    /// backend refused (counted, dropped).
    func transmit(_ packet: UnsafeRawBufferPointer) throws -> Bool
}
