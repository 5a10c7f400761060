import Testing
@testable import Guest
import Wire

/// What the stack holds between two vCPU turns stays bounded, whatever the LAN sends.
@Suite struct QueueBoundsTests {
    @Test func aBroadcastFloodIsCountedWithoutGrowingTheEventList() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        _ = harness.drainEvents()
        // ARP for someone else, broadcast: each is a drop ("ARP not for us").
        let frame = try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.peerMAC,
                                            senderProtocolAddress: Lab.peer, targetHardwareAddress: .zero,
                                            targetProtocolAddress: IPv4Address(198, 51, 100, 9)), to: .broadcast)
        for _ in 0 ..< 10_000 { harness.receive(frame) }
        #expect(harness.stack.counters.drops(.arpNotForUs) == 10_000)
        #expect(harness.stack.events.isEmpty)
    }

    @Test func theTransmitQueueIsCappedAndOverflowIsACountedDrop() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        let capacity = harness.stack.transmitQueue.capacity
        #expect(capacity == 256)
        // Each ARP request for our address queues one reply; nobody drains the queue.
        for host in 0 ..< capacity + 44 {
            let mac = MACAddress(0x02, 0x00, 0x5e, 0x77, UInt8(host >> 8), UInt8(truncatingIfNeeded: host))
            harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: mac,
                                                    senderProtocolAddress: IPv4Address(10, 0, UInt8(host >> 8),
                                                                                       UInt8(truncatingIfNeeded: host)),
                                                    targetHardwareAddress: .zero, targetProtocolAddress: Lab.offered),
                                         to: .broadcast))
        }
        #expect(harness.stack.transmitQueue.count == capacity)
        #expect(harness.stack.counters.drops(.transmitQueueOverflow) == 44)
        let sent = harness.sent()
        #expect(sent.count == capacity)
        // Tail drop: the first 256 replies went out, in order.
        #expect(try sent.map { try parseARP($0).targetProtocolAddress }
                == (0 ..< capacity).map { IPv4Address(10, 0, UInt8($0 >> 8), UInt8(truncatingIfNeeded: $0)) })
    }

    @Test func transmitQueueIsFIFOAcrossCompactionAndRequeue() {
        var queue = TransmitQueue(capacity: 100)
        var next: UInt8 = 0
        var expected: [UInt8] = []
        var got: [UInt8] = []
        // Interleave enqueues and dequeues so the head index moves and compacts many times.
        for round in 0 ..< 50 {
            for _ in 0 ..< 3 {
                let accepted = queue.enqueue([next])
                #expect(accepted)
                expected.append(next)
                next &+= 1
            }
            for _ in 0 ..< (round % 2 == 0 ? 1 : 4) {
                guard let frame = queue.dequeue() else { break }
                if round % 5 == 0 {
                    queue.requeue(frame)   // the TX ring was full: the same frame comes out next
                    let again = queue.dequeue()
                    #expect(again == frame)
                }
                got += frame
            }
        }
        while let frame = queue.dequeue() { got += frame }
        #expect(got == expected)
        let last = queue.dequeue()
        #expect(queue.isEmpty && last == nil)
        let accepted = (0 ..< 100).map { queue.enqueue([UInt8($0)]) }
        #expect(accepted.allSatisfy { $0 })
        let overflow = queue.enqueue([0xFF])
        #expect(!overflow)
        #expect(queue.count == 100)
    }
}
