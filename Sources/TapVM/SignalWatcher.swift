import Foundation

/// Turns SIGINT and SIGTERM into a call of `handler` on a background queue, so that a run can end cleanly
/// (stop the threads, delete what it created) instead of dying mid-way.
public final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    public init(_ handler: @escaping @Sendable (Int32) -> Void) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops watching. The signals stay ignored: another watcher (the demo's) may still rely on them, and the
    /// process is about to end in an orderly way.
    public func cancel() {
        for source in sources { source.cancel() }
        sources.removeAll()
    }
}
