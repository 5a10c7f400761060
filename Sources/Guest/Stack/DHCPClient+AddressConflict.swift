import Wire

/// RFC 5227 conflict detection inside the DHCP client: PROBING after the ACK, DHCPDECLINE on a conflict
/// (RFC 2131 §4.4.1), defence and giving up while bound (RFC 5227 §2.4 (b)).
extension DHCPClient {
    /// Takes one received ARP packet (request or reply, any sender, our own MAC too: the check itself ignores it).
    /// Does nothing unless an address is being checked or defended. What to send goes to `poll` (DHCP) and
    /// `drainARP()` (the defensive announcement).
    public mutating func handleARP(_ packet: ARPMessage, now: Instant) {
        guard var check = conflictDetection else { return }
        let verdict = check.handle(packet, now: now)
        conflictDetection = check
        switch verdict {
        case .none:
            return
        case let .conflict(other):
            decline(reason: "address in use: ARP from \(other) while probing", now: now)
        case let .defended(other):
            counters.conflictsDefended += 1
            events.append(.conflictDefended(check.address, by: other))
        case let .abandon(other):
            abandon(reason: "address conflict with \(other): a second conflict within DEFEND_INTERVAL", now: now)
        }
    }

    /// Runs the check's timers; when PROBING ends with the address claimed, binds the ACKed lease with the probe
    /// and announce times.
    mutating func pollConflictDetection(now: Instant) {
        guard var check = conflictDetection else { return }
        arpQueue += check.poll(now: now)
        conflictDetection = check
        guard state == .probing, let claimed = check.claimedAt, let lease = pendingLease, var times = pendingTimes else { return }
        times.probeStart = check.probeStart
        times.probeEnd = check.probeEnd
        times.announce = claimed
        times.bound = claimed
        pendingLease = nil
        pendingTimes = nil
        bind(lease, now: claimed)
        events.append(.bound(lease, times))
    }

    /// A conflict while PROBING: broadcast DHCPDECLINE for the address (RFC 2131 §4.4.1, §4.4.4), remember it, and
    /// go to INIT for `conflictRestartDelay` (RFC 2131 §3.1 item 5: at least 10 s).
    mutating func decline(reason: String, now: Instant) {
        guard let pending = pendingLease else { return }
        queued.append(Outgoing(message: makeDecline(address: pending.address, server: pending.server, reason: reason),
                               source: .any, destination: .broadcast))
        counters.declines += 1
        pendingLease = nil
        pendingTimes = nil
        conflictDetection = nil
        events.append(.declined(pending.address, reason: reason))
        restartAfterConflict(address: pending.address, now: now)
    }

    /// A second conflict within DEFEND_INTERVAL while bound: stop using the address at once (RFC 5227 §2.4 (b)).
    /// No DHCPDECLINE (the address was in use, RFC 2131 §4.4.4 declines only a fresh ACK): the lease is given back
    /// with a DHCPRELEASE, the address remembered as declined, and the client restarts after `conflictRestartDelay`.
    mutating func abandon(reason: String, now: Instant) {
        guard let lease else { return }
        transactionID = UInt32.random(in: .min ... .max, using: &random)
        queued.append(Outgoing(message: makeRelease(lease: lease), source: lease.address, destination: .unicast(lease.server)))
        counters.addressesAbandoned += 1
        dropLease(reason: reason, now: now)
        restartAfterConflict(address: lease.address, now: now)
    }

    /// INIT after `conflictRestartDelay`, or at least RATE_LIMIT_INTERVAL from MAX_CONFLICTS conflicts on (RFC 5227
    /// §2.1.1); `address` joins the declined addresses.
    mutating func restartAfterConflict(address: IPv4Address, now: Instant) {
        declinedAddresses.removeAll { $0 == address }
        declinedAddresses.append(address)
        if declinedAddresses.count > max(configuration.declinedAddressMemory, 1) { declinedAddresses.removeFirst() }
        conflicts += 1
        var delay = configuration.conflictRestartDelay
        if conflicts >= AddressConflictDetection.MAX_CONFLICTS {
            delay = max(delay, AddressConflictDetection.RATE_LIMIT_INTERVAL)
        }
        rebootAddress = nil
        enter(.initial, now: now)
        deadline = now + delay
    }
}
