import CLinux
import Glibc

/// Events of one file descriptor, as epoll reports them.
public struct PollEvents: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = PollEvents(rawValue: clinux_EPOLLIN)
    public static let writable = PollEvents(rawValue: clinux_EPOLLOUT)
    public static let error = PollEvents(rawValue: clinux_EPOLLERR)
    public static let hangUp = PollEvents(rawValue: clinux_EPOLLHUP)
}

/// An epoll instance (level-triggered): the device thread's event loop. Each fd is registered with a token the
/// caller chooses; `wait` returns tokens; EINTR is retried through `retryingEINTR`.
public final class Poller {
    public let fd: Int32
    private var tokens: [UInt64]
    private var events: [UInt32]

    public init(capacity: Int = 16) throws(VirtioError) {
        let fd = clinux_epoll_create()
        guard fd >= 0 else { throw .systemCall("epoll_create1", errno: errno) }
        self.fd = fd
        tokens = Array(repeating: 0, count: min(max(capacity, 1), 64))
        events = Array(repeating: 0, count: tokens.count)
    }

    deinit { close(fd) }

    /// Starts watching `descriptor` for `events`, reported with `token`. Wraps epoll_ctl(EPOLL_CTL_ADD).
    public func add(_ descriptor: Int32, events: PollEvents, token: UInt64) throws(VirtioError) {
        guard clinux_epoll_add(fd, descriptor, events.rawValue, token) == 0 else {
            throw .systemCall("epoll_ctl(ADD, \(descriptor))", errno: errno)
        }
    }

    /// Changes what `descriptor` is watched for. Wraps epoll_ctl(EPOLL_CTL_MOD).
    public func modify(_ descriptor: Int32, events: PollEvents, token: UInt64) throws(VirtioError) {
        guard clinux_epoll_modify(fd, descriptor, events.rawValue, token) == 0 else {
            throw .systemCall("epoll_ctl(MOD, \(descriptor))", errno: errno)
        }
    }

    /// Stops watching `descriptor`. Wraps epoll_ctl(EPOLL_CTL_DEL).
    public func remove(_ descriptor: Int32) throws(VirtioError) {
        guard clinux_epoll_remove(fd, descriptor) == 0 else {
            throw .systemCall("epoll_ctl(DEL, \(descriptor))", errno: errno)
        }
    }

    /// Waits up to `timeout` (nil = forever) and returns the ready (token, events) pairs; empty on timeout.
    public func wait(timeout: Duration?) throws(VirtioError) -> [(token: UInt64, events: PollEvents)] {
        let milliseconds: Int32
        if let timeout {
            milliseconds = timeout.pollTimeoutMilliseconds
        } else {
            milliseconds = -1
        }
        let capacity = Int32(tokens.count)
        let n = retryingEINTR { clinux_epoll_wait(fd, &tokens, &events, capacity, milliseconds) }
        guard n >= 0 else { throw .systemCall("epoll_wait", errno: errno) }
        return (0..<Int(n)).map { (tokens[$0], PollEvents(rawValue: events[$0])) }
    }
}
