import Foundation
import Guest
import Synchronization
import Wire

/// The two jobs of the command line that boot a guest: `tapvm run` and `tapvm demo`. Each returns the exit
/// status; the last output line is always a `summary` event whose `ok` matches it.
public enum Runner {
    /// `tapvm run ATTACH`: boot the guest and stay on the LAN until the exit condition or SIGINT/SIGTERM.
    public static func run(_ options: RunOptions, printer: EventPrinter, processStart: ContinuousClock.Instant) -> Int32 {
        let session: GuestSession
        do {
            session = try GuestSession(options: options, printer: printer, processStart: processStart)
        } catch {
            return finish(ok: false, error: error.description, printer: printer, processStart: processStart)
        }
        var ok = true
        var failure: String?
        switch options.exitAfter {
        case .lease:
            let bound = session.pump(timeout: options.leaseTimeout) { session.lease != nil }
            if !bound {
                ok = false
                failure = session.interrupted ? "interrupted before a lease was bound"
                    : session.failure ?? "no lease within \(options.leaseTimeout)"
            } else if !options.pingTargets.isEmpty {
                let budget = (options.pingInterval + .seconds(1)) * options.pingCount + .seconds(3)
                session.pump(timeout: budget) { session.pingResults.count >= options.pingTargets.count }
                ok = session.pingResults.count == options.pingTargets.count && session.pingResults.allSatisfy { $0.received > 0 }
                if !ok { failure = "ping failed" }
            }
            let ping6Targets = options.ipv6.enabled ? options.ipv6.pingTargets.count : 0
            if bound && ping6Targets > 0 {
                // Router discovery, SLAAC and DAD come first (a few seconds), then the echo requests.
                let budget = (options.pingInterval + .seconds(1)) * options.pingCount + .seconds(15)
                session.pump(timeout: budget) { session.ping6Results.count >= ping6Targets }
                let ok6 = session.ping6Results.count == ping6Targets && session.ping6Results.allSatisfy { $0.received > 0 }
                if !ok6 {
                    ok = false
                    failure = [failure, "ping6 failed"].compactMap { $0 }.joined(separator: "; ")
                }
            }
        case let .after(duration):
            session.pump(timeout: duration) { false }
        case .never:
            while !session.interrupted && session.failure == nil { session.pump(timeout: .seconds(3600)) { false } }
        }
        if let deviceFailure = session.failure {
            ok = false
            failure = deviceFailure
        }
        let leased = session.lease
        session.shutdown()
        var fields: [(String, JSONValue)] = [("lease", leased.map { .string("\($0.address)") } ?? .null)]
        fields.append(("interrupted", .bool(session.interrupted)))
        return finish(ok: ok, error: failure, extra: fields, printer: printer, processStart: processStart)
    }

    /// `tapvm demo`: lab up, guest boots, lease, the guest pings the router, the server namespace pings the guest,
    /// the lab torn down (even on failure or Ctrl-C), and only then the summary, so that `ok` covers the teardown.
    public static func demo(labName: String?, seed: UInt64?, pcapPath: String? = nil, pcapPoint: CapturePoint = .guest,
                            pcapLimitMegabytes: Int? = nil, ipv6: IPv6Settings = IPv6Settings(), printer: EventPrinter,
                            processStart: ContinuousClock.Instant) -> Int32 {
        let interrupted = Atomic<Bool>(false)
        let watcher = SignalWatcher { _ in interrupted.store(true, ordering: .relaxed) }
        defer { watcher.cancel() }
        let lab: LabSegment
        do {
            lab = try LabSegment(name: labName ?? "tvd\(getpid() % 1_000_000)")
            printer.note("tapvm demo: building lab \(lab.name) (namespaces \(lab.serverNamespace), \(lab.clientNamespace); dnsmasq on srv0)")
            try lab.up()
        } catch {
            return finish(ok: false, error: error.description, printer: printer, processStart: processStart)
        }
        var outcome = DemoOutcome(ok: false, error: "interrupted", lease: nil)
        if !interrupted.load(ordering: .relaxed) {
            var capture = RunOptions(attachment: .lab(name: lab.name))
            capture.pcapPath = pcapPath
            capture.pcapPoint = pcapPoint
            capture.pcapLimitMegabytes = pcapLimitMegabytes
            capture.ipv6 = ipv6
            outcome = demo(on: lab, seed: seed, capture: capture, printer: printer, processStart: processStart) {
                interrupted.load(ordering: .relaxed)
            }
        }
        do {
            try lab.down()
            printer.note("tapvm demo: lab \(lab.name) torn down")
        } catch {
            outcome.ok = false
            outcome.error = [outcome.error, "lab down: \(error)"].compactMap { $0 }.joined(separator: "; ")
        }
        return finish(ok: outcome.ok, error: outcome.error, extra: [("lease", outcome.lease.map { .string("\($0)") } ?? .null)],
                      printer: printer, processStart: processStart)
    }

    struct DemoOutcome {
        var ok: Bool
        var error: String?
        var lease: IPv4Address?
    }

    /// The guest's part of the demo on a lab that is up; the session is shut down (lease released) on return.
    static func demo(on lab: LabSegment, seed: UInt64?, capture: RunOptions, printer: EventPrinter,
                     processStart: ContinuousClock.Instant, interrupted: () -> Bool) -> DemoOutcome {
        var options = RunOptions(attachment: .lab(name: lab.name))
        options.seed = seed
        options.pcapPath = capture.pcapPath
        options.pcapPoint = capture.pcapPoint
        options.pcapLimitMegabytes = capture.pcapLimitMegabytes
        options.pingTargets = [.router]
        options.pingInterval = .milliseconds(200)   // as the server's `ping -i 0.2`
        options.ipv6 = capture.ipv6
        if options.ipv6.enabled { options.ipv6.pingTargets = [.address(IPv6Address(LabSegment.serverIPv6Address)!)] }
        let session: GuestSession
        do {
            session = try GuestSession(options: options, printer: printer, processStart: processStart)
        } catch {
            return DemoOutcome(ok: false, error: error.description, lease: nil)
        }
        defer { session.shutdown() }
        printer.note("tapvm demo: waiting for a DHCPv4 lease from dnsmasq")
        session.pump(timeout: options.leaseTimeout) { session.lease != nil || interrupted() }
        guard let lease = session.lease else {
            let why = interrupted() || session.interrupted ? "interrupted" : session.failure ?? "no lease within \(options.leaseTimeout)"
            return DemoOutcome(ok: false, error: why, lease: nil)
        }
        session.pump(timeout: .seconds(10)) { !session.pingResults.isEmpty || interrupted() }
        let guestPing = session.pingResults.first
        if guestPing == nil {
            printer.print(GuestSession.pingLine(direction: "guest-to-lan", target: lease.router.map { "\($0)" } ?? "none",
                                           sent: 0, received: 0, average: nil))
        }
        var lanPing = LabSegment.PingResult(sent: 0, received: 0, average: nil)
        do {
            lanPing = try lab.pingFromServer("\(lease.address)")
            printer.print(GuestSession.pingLine(direction: "lan-to-guest", target: "\(lease.address)", sent: lanPing.sent,
                                           received: lanPing.received, average: lanPing.average))
        } catch {
            printer.note("tapvm demo: \(error)")
        }
        var ipv6Error: String?
        if options.ipv6.enabled && !interrupted() { ipv6Error = demoIPv6(on: lab, session: session, printer: printer, interrupted: interrupted) }
        if interrupted() || session.interrupted { return DemoOutcome(ok: false, error: "interrupted", lease: lease.address) }
        if let failure = session.failure { return DemoOutcome(ok: false, error: failure, lease: lease.address) }
        let ok = (guestPing?.received ?? 0) > 0 && lanPing.received > 0 && ipv6Error == nil
        return DemoOutcome(ok: ok, error: ok ? nil : ipv6Error ?? "a ping failed", lease: lease.address)
    }

    /// The IPv6 part of the demo: the link-local and SLAAC addresses pass DAD, the guest pings the router's
    /// 2001:db8:1::1, and the server namespace pings the guest's SLAAC address. Returns what failed, if anything.
    static func demoIPv6(on lab: LabSegment, session: GuestSession, printer: EventPrinter, interrupted: () -> Bool) -> String? {
        printer.note("tapvm demo: waiting for IPv6 (link-local, router advertisement, SLAAC, DAD)")
        func slaac() -> IPv6AddressInfo? { session.ipv6Addresses.first { $0.origin == .slaac && $0.state == .preferred } }
        // Router solicitations go 4 s apart (RFC 4861 §10): a lost first one costs 4 s.
        session.pump(timeout: .seconds(15)) { slaac() != nil || interrupted() }
        guard let address = slaac() else { return "no SLAAC address within 15 s" }
        session.pump(timeout: .seconds(5)) { !session.ping6Results.isEmpty || interrupted() }
        let guestPing = session.ping6Results.first
        if guestPing == nil {
            printer.print(GuestSession.pingLine(family: "ipv6", direction: "guest-to-lan", target: LabSegment.serverIPv6Address,
                                                sent: 0, received: 0, average: nil))
        }
        var lanPing = LabSegment.PingResult(sent: 0, received: 0, average: nil)
        do {
            lanPing = try lab.pingFromServer("\(address.address)")
        } catch {
            printer.note("tapvm demo: \(error)")
        }
        printer.print(GuestSession.pingLine(family: "ipv6", direction: "lan-to-guest", target: "\(address.address)",
                                            sent: lanPing.sent, received: lanPing.received, average: lanPing.average))
        return (guestPing?.received ?? 0) > 0 && lanPing.received > 0 ? nil : "a ping6 failed"
    }

    /// Prints the closing `summary` event and returns the exit status (0 exactly when `ok`).
    static func finish(ok: Bool, error: String?, extra: [(String, JSONValue)] = [], printer: EventPrinter,
                       processStart: ContinuousClock.Instant) -> Int32 {
        let elapsed = GuestSession.milliseconds(ContinuousClock.now - processStart)
        var fields: [(String, JSONValue)] = [("ok", .bool(ok))] + extra
        if let error { fields.append(("error", .string(error))) }
        fields.append(("elapsed_ms", .number(elapsed)))
        let human = ok ? String(format: "ok (%.0f ms)", elapsed) : "tapvm: \(error ?? "failed")"
        printer.print(EventLine("summary", fields, human: human))
        return ok ? 0 : 1
    }
}
