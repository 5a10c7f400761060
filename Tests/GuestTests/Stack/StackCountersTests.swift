@testable import Guest
import Testing

@Suite struct StackCountersTests {
    /// `DropReason.ordinal` indexes the drop counters: it must be each case's own position, one byte wide.
    @Test func everyDropReasonHasItsOwnOrdinal() {
        #expect(MemoryLayout<DropReason>.size == 1)
        for (index, reason) in DropReason.allCases.enumerated() {
            #expect(reason.ordinal == index, "\(reason)")
        }
    }

    @Test func dropsAreCountedPerReasonAndInTotal() {
        var counters = StackCounters()
        #expect(counters.drops.isEmpty && counters.totalDrops == 0)
        counters.countDrop(.notOurMAC)
        counters.countDrop(.notOurMAC, count: 2)
        counters.countDrop(DropReason.allCases.last!)
        #expect(counters.drops(.notOurMAC) == 3)
        #expect(counters.drops(.ethernetMalformed) == 0)
        #expect(counters.drops == [.notOurMAC: 3, DropReason.allCases.last!: 1])
        #expect(counters.totalDrops == 4)
    }
}
