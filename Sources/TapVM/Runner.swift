import Foundation
import Guest
import Synchronization

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
    /// a summary, and the lab torn down even on failure or Ctrl-C.
    public static func demo(labName: String?, seed: UInt64?, pcapPath: String? = nil, printer: EventPrinter, processStart: ContinuousClock.Instant) -> Int32 {
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
        defer {
            do { try lab.down() } catch { printer.note("tapvm demo: lab down: \(error)") }
            printer.note("tapvm demo: lab \(lab.name) torn down")
        }
        guard !interrupted.load(ordering: .relaxed) else {
            return finish(ok: false, error: "interrupted", printer: printer, processStart: processStart)
        }
        var options = RunOptions(attachment: .lab(name: lab.name))
        options.seed = seed
        options.pcapPath = pcapPath
        options.pingTargets = [.router]
        options.pingInterval = .milliseconds(200)   // as the server's `ping -i 0.2`
        let session: GuestSession
        do {
            session = try GuestSession(options: options, printer: printer, processStart: processStart)
        } catch {
            return finish(ok: false, error: error.description, printer: printer, processStart: processStart)
        }
        defer { session.shutdown() }
        printer.note("tapvm demo: waiting for a DHCPv4 lease from dnsmasq")
        guard session.pump(timeout: options.leaseTimeout, until: { session.lease != nil || interrupted.load(ordering: .relaxed) }),
              let lease = session.lease else {
            return finish(ok: false, error: "no lease within \(options.leaseTimeout)", printer: printer, processStart: processStart)
        }
        session.pump(timeout: .seconds(10)) { !session.pingResults.isEmpty || interrupted.load(ordering: .relaxed) }
        let guestPing = session.pingResults.first
        if guestPing == nil {
            printer.print(session.pingLine(direction: "guest-to-lan", target: lease.router.map { "\($0)" } ?? "none",
                                           sent: 0, received: 0, average: nil))
        }
        var lanPingOK = false
        do {
            let average = try lab.pingFromServer("\(lease.address)")
            lanPingOK = average != nil
            printer.print(session.pingLine(direction: "lan-to-guest", target: "\(lease.address)", sent: 3,
                                           received: average == nil ? 0 : 3, average: average))
        } catch {
            printer.note("tapvm demo: \(error)")
        }
        let ok = (guestPing?.received ?? 0) > 0 && lanPingOK && !interrupted.load(ordering: .relaxed)
        session.shutdown()
        return finish(ok: ok, error: ok ? nil : "a ping failed", extra: [("lease", .string("\(lease.address)"))],
                      printer: printer, processStart: processStart)
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
