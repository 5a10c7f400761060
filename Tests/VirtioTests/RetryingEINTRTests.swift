import Glibc
import Testing
import Virtio

@Suite struct RetryingEINTRTests {
    @Test func retriesOnlyEINTR() {
        var calls = 0
        let result = retryingEINTR { () -> Int in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 8
        }
        #expect(result == 8 && calls == 3)

        calls = 0
        let failed = retryingEINTR { () -> Int32 in
            calls += 1
            errno = EAGAIN
            return -1
        }
        #expect(failed == -1 && calls == 1)
        #expect(errno == EAGAIN)  // left for the caller to inspect
    }

    @Test func eventNotifierSignalsAndDrainsThroughIt() throws {
        let notifier = try EventNotifier()
        #expect(notifier.drain() == 0)
        notifier.signal()
        notifier.signal()
        #expect(notifier.drain() == 2)
        #expect(notifier.drain() == 0)
    }
}
