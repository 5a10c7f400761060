import Glibc

/// A dedicated OS thread (pthread) running one closure, with a bounded join: the device thread and the vCPU
/// thread are each one of these. Plumbing both sides use, like `Poller`.
public final class WorkerThread: @unchecked Sendable {
    private final class Context {
        let body: () -> Void
        let finished: EventNotifier
        let name: String
        init(body: @escaping () -> Void, finished: EventNotifier, name: String) {
            self.body = body
            self.finished = finished
            self.name = name
        }
    }

    private var thread: pthread_t
    private let finished: EventNotifier
    private var joined = false
    public let name: String

    /// Starts a thread running `body`; `name` is for reports (Glibc does not export pthread_setname_np to Swift).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(VirtioError) {
        let finished = try EventNotifier()
        self.finished = finished
        self.name = name
        let context = Unmanaged.passRetained(Context(body: body, finished: finished, name: name)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
            context.body()
            context.finished.signal()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Context>.fromOpaque(context).release()
            throw .systemCall("pthread_create", errno: result)
        }
        self.thread = thread
    }

    /// Waits up to `timeout` for the thread to finish, then joins it. Returns false (and detaches the thread,
    /// which keeps running) when it did not finish in time. Call once, from another thread.
    @discardableResult
    public func join(timeout: Duration) -> Bool {
        if joined { return true }
        var descriptor = pollfd(fd: finished.fd, events: Int16(POLLIN), revents: 0)
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { break }
            let ms = max(1, remaining.pollTimeoutMilliseconds)
            // EINTR is retried inside; the loop only recomputes the remaining time after a timeout.
            if retryingEINTR({ poll(&descriptor, 1, ms) }) != 0 { break }
        }
        guard descriptor.revents & Int16(POLLIN) != 0 || finished.drain() > 0 else {
            pthread_detach(thread)
            joined = true
            return false
        }
        pthread_join(thread, nil)
        joined = true
        return true
    }
}
