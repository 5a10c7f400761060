// libpcap is loaded on first use (Sources/CPcap/shim.h explains why); PcapWriter and PcapReader load it first.
import CPcap

/// Loads libpcap with dlopen on first use, so that runs without `--pcap` or replay never load it (nor dbus,
/// systemd and gcrypt, which it pulls in: about 1 ms of every start-up).
public enum PcapLibrary {
    /// Loads libpcap and resolves the functions Capture calls; cheap after the first call, thread-safe.
    /// - Throws: `libraryUnavailable` naming the missing library or function.
    public static func load() throws(PcapError) {
        var reason = [CChar](repeating: 0, count: 256)
        guard tapvm_pcap_load(&reason, UInt(reason.count)) == 0 else {
            throw .libraryUnavailable(reason: reason.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
    }
}
