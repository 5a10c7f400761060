#if canImport(Glibc)
import Glibc
#endif
@testable import Capture
import Foundation
import Testing
import Wire

private let pcaps = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("pcaps").path

struct RotationAndDecodeTests {
    @Test func aLimitRotatesIntoNumberedFilesThatEachRead() throws {
        let directory = NSTemporaryDirectory() + "tvmt-rotate-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/run.pcap"
        // 24-byte header + 3 records of 16 + 100 bytes = 372 bytes per file at most 400.
        let writer = try RotatingPcapWriter(path: path, limitBytes: 400)
        let frame = [UInt8](repeating: 0xab, count: 100)
        for index in 0..<7 {
            try frame.withUnsafeBytes {
                try writer.write(frame: $0, timestamp: PcapTimestamp(seconds: Int64(index), nanoseconds: 1))
            }
        }
        try writer.close()
        #expect(writer.files == [path, path + ".1", path + ".2"])
        #expect(writer.framesWritten == 7)
        var seconds: [Int64] = []
        for file in writer.files {
            var info = stat()
            #expect(stat(file, &info) == 0 && info.st_mode & 0o777 == 0o600 && info.st_size <= 400)
            seconds += try PcapReader(path: file).readAll().map(\.timestamp.seconds)
        }
        #expect(seconds == Array(0..<7))
        try writer.close()  // idempotent
        #expect(throws: PcapError.closed(path: path)) { try frame.withUnsafeBytes { try writer.write(frame: $0, timestamp: .now()) } }
    }

    @Test func framesDecodeIntoSummariesAndFields() throws {
        let records = try PcapReader(path: pcaps + "/lease-ping.pcap").readAll()
        let decoded = records.map { FrameFields($0.bytes) }
        // The DHCP exchange in order (the server's router advertisements fall in between).
        let dhcp = decoded.filter { $0.kind.hasPrefix("DHCP") }
        #expect(dhcp.map(\.kind).prefix(4) == ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"])
        let offer = try #require(dhcp.dropFirst().first)
        #expect(offer.summary.hasPrefix("DHCPOFFER xid 0x"))
        #expect(offer.fields.contains { $0.name == "option 54" && $0.value == "198.51.100.1" })
        #expect(offer.fields.contains { $0.name == "option 53" && $0.value == "DHCPOFFER" })
        #expect(decoded.contains { $0.summary == "ARP request for 198.51.100.1 from 198.51.100.129" })
        #expect(decoded.contains { $0.kind == "ICMP echo reply" })
        // Untrusted bytes: every cut of every frame decodes without trapping.
        for record in records {
            for length in 0..<record.bytes.count { _ = FrameFields(Array(record.bytes.prefix(length))) }
        }
        #expect(FrameFields([UInt8](repeating: 0, count: 5)).summary == "runt frame of 5 bytes")
    }

    @Test func ipv6FramesDecodeIntoSummariesAndFields() throws {
        let records = try PcapReader(path: pcaps + "/slaac-ping6.pcap").readAll()
        let decoded = records.map { FrameFields($0.bytes) }
        let kinds = Set(decoded.map(\.kind))
        #expect(kinds.isSuperset(of: ["MLDv2 report", "ICMPv6 neighbor solicitation", "ICMPv6 neighbor advertisement",
                                      "ICMPv6 router advertisement", "ICMPv6 echo request", "ICMPv6 echo reply"]))
        #expect(decoded.contains { $0.summary == "NS for fe80::ff:fe00:62 from :: (duplicate address detection)" })
        #expect(decoded.contains { $0.summary.hasPrefix("MLDv2 report CHANGE_TO_EXCLUDE_MODE ff02::1:ff00:62") })
        let ra = try #require(decoded.first { $0.kind == "ICMPv6 router advertisement" })
        #expect(ra.summary.contains("prefix 2001:db8:1::/64") && ra.summary.contains("M=0 O=0"))
        #expect(ra.fields.contains { $0.name == "NDP option RDNSS" && $0.value.hasPrefix("2001:db8:1::1 ") })
        let echo = try #require(decoded.first { $0.kind == "ICMPv6 echo request" })
        #expect(echo.summary.hasPrefix("ICMPv6 echo request 2001:db8:1::ff:fe00:62 > 2001:db8:1::1 id 0x"))
        for record in records {
            for length in 0..<record.bytes.count { _ = FrameFields(Array(record.bytes.prefix(length))) }
        }

        // A DHCPv6 Solicit from port 546 to ff02::1:2 port 547.
        let message = DHCPv6Message(messageType: .solicit, transactionID: 0x00AB_CDEF,
                                    options: [.clientIdentifier(.linkLayer(MACAddress(2, 0, 0, 0, 0, 0x62))), .elapsedTime(hundredthsOfSecond: 0)])
        let source = IPv6Address("fe80::ff:fe00:62")!
        var payload = [UInt8](repeating: 0, count: message.encodedLength)
        try payload.withUnsafeMutableBytes { try message.emit(into: $0) }
        let udp = UDPHeader(sourcePort: 546, destinationPort: 547, payloadLength: payload.count)
        let ip = IPv6Header(source: source, destination: .allDHCPRelayAgentsAndServers, nextHeader: .udp, payloadLength: udp.length, hopLimit: 1)
        let ethernet = EthernetHeader(destination: IPv6Address.allDHCPRelayAgentsAndServers.multicastMAC, source: MACAddress(2, 0, 0, 0, 0, 0x62),
                                      etherType: .ipv6)
        var frame = [UInt8](repeating: 0, count: 14 + 40 + udp.length)
        try frame.withUnsafeMutableBytes { buffer in
            try ethernet.emit(into: buffer)
            try ip.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[14...]))
            let datagram = UnsafeMutableRawBufferPointer(rebasing: buffer[54...])
            try udp.emit(into: datagram)
            UnsafeMutableRawBufferPointer(rebasing: datagram[8...]).copyBytes(from: payload)
            UDPHeader.fillChecksum(datagram: datagram, source: source, destination: .allDHCPRelayAgentsAndServers)
        }
        let solicit = FrameFields(frame)
        #expect(solicit.kind == "DHCPv6 SOLICIT" && solicit.summary == "DHCPv6 SOLICIT xid 0xabcdef")
        #expect(solicit.fields.contains { $0.name == "DHCPv6 transaction id" && $0.value == "0xabcdef" })
    }

    /// Option 56 (message), 12 and 15 are the server's words: control characters never reach the terminal raw.
    @Test func serverStringsAreEscaped() {
        let hostile = Array("ok\u{1b}[2J\nforged \"line\"\r\u{7f}\u{85}\\".utf8)
        for code in [DHCPOptionCode.message, .hostName, .domainName] {
            let value = FrameFields.optionValue(DHCPOption(code: code, data: hostile))
            #expect(value == #""ok\u{1b}[2J\nforged \"line\"\r\u{7f}\u{85}\\""#, "\(value)")
            #expect(!value.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
        }
        #expect(FrameFields.printable("plain text, é") == "plain text, é")
    }

    /// Interoperability: tcpdump (and tshark, when installed) read every capture tapvm wrote without a warning,
    /// and tshark decodes the DHCP in them.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tcpdump"), "tcpdump is not installed"))
    func tcpdumpAndTsharkReadTheCaptures() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: pcaps).filter { $0.hasSuffix(".pcap") }.sorted()
        #expect(files.count >= 6)
        for file in files {
            let path = pcaps + "/" + file
            let (status, output, errors) = try run("/usr/bin/tcpdump", ["-r", path, "-nn", "-e", "--time-stamp-precision=nano"])
            #expect(status == 0, "\(file): \(errors)")
            // tcpdump always says where it reads from; anything else on stderr is a warning.
            #expect(errors.split(separator: "\n").allSatisfy { $0.hasPrefix("reading from file") }, "\(file): \(errors)")
            let records = try PcapReader(path: path).readAll()
            #expect(output.split(separator: "\n").filter { !$0.hasPrefix("\t") }.count == records.count, "\(file)")
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") else { continue }
            let (tsharkStatus, decoded, tsharkErrors) = try run("/usr/bin/tshark", ["-r", path, "-n"])
            #expect(tsharkStatus == 0 && !tsharkErrors.contains("appears to have been cut short"), "\(file): \(tsharkErrors)")
            if file == "lease-ping.pcap" { #expect(decoded.contains("DHCP Discover") && decoded.contains("DHCP ACK")) }
        }
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }
}
