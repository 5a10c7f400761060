import Testing
@testable import Wire

/// A straightforward RFC 1071 reference: sum 16-bit big-endian words, pad an odd byte, fold, complement.
private func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var index = 0
    while index < bytes.count {
        let high = UInt32(bytes[index])
        let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        sum += high << 8 | low
        sum = (sum & 0xFFFF) + (sum >> 16)
        index += 2
    }
    return ~UInt16(sum & 0xFFFF)
}

@Suite("Internet checksum (RFC 1071)")
struct InternetChecksumTests {
    @Test("RFC 1071 §3 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2")
    func rfcExample() {
        let bytes: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        #expect(withBytes(bytes) { InternetChecksum.checksum($0) } == ~UInt16(0xDDF2))
        #expect(~UInt16(0xDDF2) == 0x220D)
    }

    @Test("empty input sums to 0, so the checksum is 0xFFFF")
    func empty() {
        #expect(withBytes([]) { InternetChecksum.checksum($0) } == 0xFFFF)
        #expect(InternetChecksum().value == 0xFFFF)
    }

    @Test("an odd trailing byte is padded with zero on the right")
    func oddLength() {
        #expect(withBytes([0x01]) { InternetChecksum.checksum($0) } == 0xFEFF)
        #expect(withBytes([0x00, 0x01, 0xF2]) { InternetChecksum.checksum($0) } == ~UInt16(0x0001 + 0xF200))
        var random = SplitMix64(seed: 1071)
        for length in [1, 3, 5, 7, 9, 63, 1499] {
            let bytes = random.bytes(count: length)
            #expect(withBytes(bytes) { InternetChecksum.checksum($0) } == referenceChecksum(bytes), "length \(length)")
        }
    }

    @Test("carries fold back in: ffff + 0001 is 0001, checksum fffe")
    func endAroundCarry() {
        #expect(withBytes([0xFF, 0xFF, 0x00, 0x01]) { InternetChecksum.checksum($0) } == 0xFFFE)
        let ones = [UInt8](repeating: 0xFF, count: 4096)
        #expect(withBytes(ones) { InternetChecksum.checksum($0) } == 0x0000)
    }

    @Test("matches the reference on random buffers of every length up to 70")
    func randomAgainstReference() {
        var random = SplitMix64(seed: 42)
        for length in 0 ... 70 {
            for _ in 0 ..< 5 {
                let bytes = random.bytes(count: length)
                #expect(withBytes(bytes) { InternetChecksum.checksum($0) } == referenceChecksum(bytes))
            }
        }
    }

    @Test("adds split at any point, odd or even, equal one add over the whole")
    func splitAdds() {
        var random = SplitMix64(seed: 7)
        let bytes = random.bytes(count: 37)
        let whole = referenceChecksum(bytes)
        for first in 0 ... bytes.count {
            for second in first ... bytes.count {
                var sum = InternetChecksum()
                withBytes(Array(bytes[0 ..< first])) { sum.add($0) }
                withBytes(Array(bytes[first ..< second])) { sum.add($0) }
                withBytes(Array(bytes[second...])) { sum.add($0) }
                #expect(sum.value == whole, "split at \(first), \(second)")
            }
        }
        // Byte by byte: every boundary odd in turn.
        var sum = InternetChecksum()
        for byte in bytes { withBytes([byte]) { sum.add($0) } }
        #expect(sum.value == whole)
    }

    @Test("words and addresses continue the byte stream, also after an odd byte")
    func wordsAndAddresses() {
        var sum = InternetChecksum()
        withBytes([0xAB]) { sum.add($0) }
        sum.add(UInt16(0x1234))
        withBytes([0x56]) { sum.add($0) }
        sum.add(IPv4Address(198, 51, 100, 7))
        #expect(sum.value == referenceChecksum([0xAB, 0x12, 0x34, 0x56, 198, 51, 100, 7]))
    }

    @Test("a buffer holding its own checksum verifies to zero")
    func verifies() {
        var random = SplitMix64(seed: 99)
        var bytes = random.bytes(count: 40)
        bytes[10] = 0; bytes[11] = 0
        let checksum = referenceChecksum(bytes)
        bytes[10] = UInt8(checksum >> 8); bytes[11] = UInt8(checksum & 0xFF)
        #expect(withBytes(bytes) { InternetChecksum.checksum($0) } == 0)
    }

    @Test("pseudo-header: source, destination, zero, protocol, length (RFC 768)")
    func pseudoHeader() {
        let source = IPv4Address(198, 51, 100, 60)
        let destination = IPv4Address(198, 51, 100, 1)
        let sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .udp, length: 0x1234)
        #expect(sum.value == referenceChecksum([198, 51, 100, 60, 198, 51, 100, 1, 0, 17, 0x12, 0x34]))
        let big = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .tcp, length: 0x0001_0002)
        #expect(big.value == referenceChecksum([198, 51, 100, 60, 198, 51, 100, 1, 0, 6, 0x00, 0x01, 0x00, 0x02]))
    }
}
