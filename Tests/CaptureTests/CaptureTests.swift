#if canImport(Glibc)
import Glibc
#endif
import Capture
import Foundation
import Synchronization
import Testing

private let fileCounter = Atomic<Int>(0)

/// A fresh path in a private temporary directory, removed by `cleanup`.
private struct Scratch {
    let directory: String

    init() throws {
        let number = fileCounter.add(1, ordering: .relaxed).newValue
        directory = NSTemporaryDirectory() + "tvmt-capture-\(getpid())-\(number)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory + "/" + name }
    func cleanup() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Three distinct Ethernet frames: ARP request, an 0x88b5 probe, and a broadcast with 200 bytes of payload.
private let frames: [[UInt8]] = [
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x06]  // broadcast, 02:..:0a, ARP
        + [0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x0a, 198, 51, 100, 10]
        + [0, 0, 0, 0, 0, 0, 198, 51, 100, 1],
    [0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x88, 0xb5] + Array("tapvm capture probe".utf8),
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x0b, 0x88, 0xb5] + (0..<200).map { UInt8($0 & 0xff) },
]

private let timestamps = [
    PcapTimestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789),
    PcapTimestamp(seconds: 1_700_000_000, nanoseconds: 987_654_321),
    PcapTimestamp(seconds: 1_700_000_002, nanoseconds: 5_000),
]

private func writeThreeFrames(to path: String, nanosecond: Bool, snapLength: Int = 262_144) throws {
    let writer = try PcapWriter(path: path, snapLength: snapLength, nanosecond: nanosecond)
    for (frame, timestamp) in zip(frames, timestamps) {
        try frame.withUnsafeBytes { try writer.write(frame: $0, timestamp: timestamp) }
    }
    try writer.close()
}

struct CaptureTests {
    @Test(arguments: [false, true])
    func framesRoundTripInOrderWithTheirTimestamps(nanosecond: Bool) throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.path("three.pcap")
        try writeThreeFrames(to: path, nanosecond: nanosecond)
        let magic = try Array(Data(contentsOf: URL(fileURLWithPath: path)).prefix(4))
        #expect(magic == (nanosecond ? [0x4d, 0x3c, 0xb2, 0xa1] : [0xd4, 0xc3, 0xb2, 0xa1]))

        let reader = try PcapReader(path: path)
        #expect(reader.snapLength == 262_144)
        let records = try reader.readAll()
        #expect(records.map(\.bytes) == frames)
        #expect(records.map(\.originalLength) == frames.map(\.count))
        let expected = timestamps.map { stamp in
            nanosecond ? stamp : PcapTimestamp(seconds: stamp.seconds, nanoseconds: stamp.nanoseconds / 1000 * 1000)
        }
        #expect(records.map(\.timestamp) == expected)
        #expect(try reader.next() == nil)
        #expect(reader.framesRead == 3)
    }

    @Test func framesLongerThanTheSnapLengthAreCutButKeepTheirLength() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.path("snap.pcap")
        try writeThreeFrames(to: path, nanosecond: false, snapLength: 64)
        let records = try PcapReader(path: path).readAll()
        #expect(records.map(\.bytes.count) == [42, 33, 64])
        #expect(records[2].bytes == Array(frames[2].prefix(64)))
        #expect(records[2].originalLength == 214)
        #expect(records[2].isCut && !records[0].isCut)
    }

    @Test func theFileIsCreatedWithMode0600EvenIfItExisted() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let fresh = scratch.path("fresh.pcap")
        // (The umask is process-wide and other tests run in parallel, so it is left alone: with the usual 022,
        // fopen or pcap_dump_open would give 0644; the pre-existing 0644 file checks the fchmod.)
        try writeThreeFrames(to: fresh, nanosecond: false)
        let existing = scratch.path("existing.pcap")
        #expect(FileManager.default.createFile(atPath: existing, contents: Data("old".utf8),
                                               attributes: [.posixPermissions: 0o644]))
        try writeThreeFrames(to: existing, nanosecond: false)
        for path in [fresh, existing] {
            var info = stat()
            try #require(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
        }
        #expect(try PcapReader(path: existing).readAll().count == 3)  // truncated, not appended
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tcpdump"),
                   "tcpdump is not installed (apt-get install -y tcpdump)"))
    func tcpdumpReadsTheFile() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.path("tcpdump.pcap")
        try writeThreeFrames(to: path, nanosecond: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tcpdump")
        process.arguments = ["-r", path, "-nn", "-e", "--time-stamp-precision=nano"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        // One line per frame; tcpdump adds indented hex lines for the unknown 0x88b5 payload.
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("\t") }
        #expect(lines.count == 3, "tcpdump printed: \(lines)")
        #expect(lines.first?.contains("ARP") == true)
        #expect(lines.first?.contains("198.51.100.1") == true)
        #expect(lines.first?.contains(":20.123456789 ") == true)  // nanosecond timestamps survive
        #expect(lines.count == 3 && lines[1].contains("02:00:00:00:00:0a > 02:00:00:00:00:0b"))
    }

    @Test func aTruncatedFileIsAnErrorNamingTheFrame() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.path("whole.pcap")
        try writeThreeFrames(to: path, nanosecond: false)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(whole.count == 24 + 3 * 16 + frames.map(\.count).reduce(0, +))

        // Cut inside the data of frame 3, then inside the record header of frame 3.
        let recordThree = 24 + 2 * 16 + frames[0].count + frames[1].count
        for cut in [whole.count - 5, recordThree + 7] {
            let truncated = scratch.path("cut-\(cut).pcap")
            try whole.prefix(cut).write(to: URL(fileURLWithPath: truncated))
            let reader = try PcapReader(path: truncated)
            #expect(try reader.next()?.bytes == frames[0])
            #expect(try reader.next()?.bytes == frames[1])
            do {
                _ = try reader.next()
                Issue.record("frame 3 of \(truncated) should not read")
            } catch {
                guard case let .badRecord(errorPath, frame, reason) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(errorPath == truncated)
                #expect(frame == 3)
                #expect(reason.contains("truncated"))
                #expect(error.description.contains(truncated) && error.description.contains("frame 3"))
                #expect(!error.description.contains("\n"))
            }
        }

        // A cut file header cannot be opened at all.
        let headerOnly = scratch.path("header.pcap")
        try whole.prefix(10).write(to: URL(fileURLWithPath: headerOnly))
        #expect {
            _ = try PcapReader(path: headerOnly)
        } throws: { error in
            guard case let .cannotOpen(errorPath, _) = error as? PcapError else { return false }
            return errorPath == headerOnly
        }
    }

    @Test func otherLinkTypesAndNonCapturesAreRefused() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        // A pcap header (little-endian, v2.4, snaplen 65535) with LINKTYPE_RAW (101).
        let raw = scratch.path("raw.pcap")
        let header: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                               0xff, 0xff, 0, 0, 101, 0, 0, 0]
        try Data(header).write(to: URL(fileURLWithPath: raw))
        #expect {
            _ = try PcapReader(path: raw)
        } throws: { error in
            // libpcap maps LINKTYPE_RAW (101 in the file) to DLT_RAW.
            guard case .notEthernet(raw, _, "RAW") = error as? PcapError else { return false }
            return "\(error)".contains("RAW") && "\(error)".contains(raw)
        }

        let text = scratch.path("text.pcap")
        try Data("this is not a capture file at all".utf8).write(to: URL(fileURLWithPath: text))
        #expect {
            _ = try PcapReader(path: text)
        } throws: { error in
            guard case .cannotOpen(text, _) = error as? PcapError else { return false }
            return true
        }
        let missing = scratch.path("missing.pcap")
        #expect {
            _ = try PcapReader(path: missing)
        } throws: { error in
            guard case .cannotOpen(missing, _) = error as? PcapError else { return false }
            return true
        }
        #expect {
            _ = try PcapWriter(path: scratch.path("no/such/dir.pcap"))
        } throws: { error in
            guard case let .cannotCreate(path, reason) = error as? PcapError else { return false }
            return path.hasSuffix("no/such/dir.pcap") && reason.contains("No such file")
        }
    }

    @Test func writesAfterCloseAreRefusedAndCloseIsIdempotent() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.path("closed.pcap")
        let writer = try PcapWriter(path: path)
        try writer.close()
        try writer.close()
        #expect(throws: PcapError.closed(path: path)) {
            try frames[0].withUnsafeBytes { try writer.write(frame: $0, timestamp: timestamps[0]) }
        }
        #expect(throws: PcapError.closed(path: path)) { try writer.flush() }
        #expect(try PcapReader(path: path).readAll().isEmpty)
    }

    /// Device and guest threads capture into one file: no record is lost or interleaved.
    @Test func twoThreadsWritingAtOnceProduceWholeRecords() throws {
        let scratch = try Scratch()
        defer { scratch.cleanup() }
        let path = scratch.path("threads.pcap")
        let writer = try PcapWriter(path: path, nanosecond: true)
        let perThread = 500
        let failures = Atomic<Int>(0)
        let done = DispatchGroup()
        for index in 0..<2 {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                let frame = frames[index + 1]
                for sequence in 0..<perThread {
                    let stamp = PcapTimestamp(seconds: Int64(index), nanoseconds: UInt32(sequence))
                    do {
                        try frame.withUnsafeBytes { try writer.write(frame: $0, timestamp: stamp) }
                    } catch {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        try writer.close()
        #expect(failures.load(ordering: .relaxed) == 0)
        let records = try PcapReader(path: path).readAll()
        #expect(records.count == 2 * perThread)
        for index in 0..<2 {
            let mine = records.filter { $0.timestamp.seconds == Int64(index) }
            #expect(mine.count == perThread)
            #expect(mine.allSatisfy { $0.bytes == frames[index + 1] })
            #expect(mine.map(\.timestamp.nanoseconds) == (0..<UInt32(perThread)).map { $0 })
        }
    }

    @Test func timestampsOrderAndPrint() {
        #expect(timestamps[0] < timestamps[1] && timestamps[1] < timestamps[2])
        #expect(timestamps[2].description == "1700000002.000005000")
    }
}
