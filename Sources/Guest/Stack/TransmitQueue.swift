/// The stack's bounded FIFO of frames waiting for the TX ring.
///
/// A head index over an array, compacted when the consumed prefix is at least half of it, so `dequeue` and
/// `enqueue` are amortized O(1). Bounded like a qdisc's `txqueuelen` (Linux `pfifo_fast` drops at the tail when
/// full): a frame that finds the queue full is refused and the caller counts the drop.
struct TransmitQueue: Sendable {
    /// Frames held at most (Linux's default `txqueuelen` is 1000; one vCPU poll never produces this many).
    let capacity: Int
    private var storage: [[UInt8]] = []
    private var head = 0

    init(capacity: Int = 256) {
        precondition(capacity > 0, "a transmit queue needs room for one frame")
        self.capacity = capacity
    }

    /// Frames waiting.
    var count: Int { storage.count - head }
    var isEmpty: Bool { count == 0 }

    /// Appends `frame`; false (and nothing stored) when the queue is full.
    mutating func enqueue(_ frame: [UInt8]) -> Bool {
        guard count < capacity else { return false }
        storage.append(frame)
        return true
    }

    /// The oldest frame, or nil when empty.
    mutating func dequeue() -> [UInt8]? {
        guard head < storage.count else { return nil }
        let frame = storage[head]
        storage[head] = []
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return frame
    }

    /// Puts a frame just taken by `dequeue` back at the head (the TX ring was full). Always accepted: it held a
    /// place a moment ago, so the queue exceeds `capacity` by at most the frames the caller took out.
    mutating func requeue(_ frame: [UInt8]) {
        if head > 0 {
            head -= 1
            storage[head] = frame
        } else {
            storage.insert(frame, at: 0)
        }
    }
}
