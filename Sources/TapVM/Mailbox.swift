import Foundation
import Synchronization

/// A queue that other threads (the vCPU thread, signal handlers) post to and the main thread waits on, with a
/// deadline. Every wait is bounded.
final class Mailbox<Item: Sendable>: Sendable {
    private let items = Mutex<[Item]>([])
    private let ready = DispatchSemaphore(value: 0)

    func post(_ item: Item) {
        items.withLock { $0.append(item) }
        ready.signal()
    }

    /// Everything posted so far, waiting until something arrives or `deadline` passes (then possibly empty).
    func take(until deadline: ContinuousClock.Instant) -> [Item] {
        let pending = items.withLock { queue -> [Item] in defer { queue.removeAll() }; return queue }
        if !pending.isEmpty { return pending }
        let remaining = deadline - .now
        if remaining > .zero {
            let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
            _ = ready.wait(timeout: .now() + seconds)
        }
        return items.withLock { queue -> [Item] in defer { queue.removeAll() }; return queue }
    }
}
