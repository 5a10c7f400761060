#if canImport(Glibc)
import Glibc
#endif

/// The scan for other holders of a macvtap (`TapDevice.otherHolders(of:)`), run on its own thread so that it
/// overlaps what follows the open (building the machine, booting the guest) instead of delaying it: the scan
/// reads every fd of every process in /proc and takes 2 ms or more on a busy machine.
///
/// The trade-off: until `wait()` returns, the guest may already have sent and received frames on a device that
/// another process shares (MACVTAP-FACTS §6), for example a DISCOVER. Callers wait before they report anything
/// the guest learned. The scan works on the device number taken when the check starts, never on the fd, so
/// closing the device meanwhile is harmless.
public final class TapHolderCheck: @unchecked Sendable {
    /// The interface the device was opened for (named in the error).
    public let interface: String

    /// What the thread found; written by the thread before it ends, read after pthread_join (POSIX.1 §4.12).
    private final class Outcome: @unchecked Sendable {
        var holders: [TapHolder] = []
    }

    private let outcome = Outcome()
    /// The scanning thread, nil once joined or when the scan ran on the caller's thread.
    private var thread: pthread_t?

    /// Starts scanning for other holders of the character device behind `fd`; an fd that is not a character
    /// device has none. If no thread can be created the scan runs here, before returning.
    public init(fd: Int32, interface: String) {
        self.interface = interface
        guard let device = TapDevice.characterDevice(of: fd) else { return }
        let outcome = self.outcome
        let context = Unmanaged.passRetained(Scan { outcome.holders = TapDevice.otherHolders(ofDevice: device) })
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<Scan>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context.toOpaque())
        if status == 0 {
            self.thread = thread
        } else {
            context.takeRetainedValue().body()
        }
    }

    /// Waits for the scan to end. Idempotent.
    /// - Throws: `sharedDevice` naming the first other holder found.
    public func wait() throws(TapError) {
        join()
        if let holder = outcome.holders.first { throw .sharedDevice(interface: interface, holder: holder) }
    }

    private func join() {
        guard let thread else { return }
        pthread_join(thread, nil)
        self.thread = nil
    }

    deinit { join() }

    private final class Scan: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
