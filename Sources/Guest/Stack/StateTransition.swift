/// A state a traced state machine can be in; `machineName` prefixes its transitions in traces ("DHCP", "DHCPv6").
public protocol TracedState: Sendable, Equatable, CustomStringConvertible {
    /// The protocol whose state machine this is, as traces name it.
    static var machineName: String { get }
}

/// One state change of a client state machine, for tracing (RFC 2131 §4.4 Figure 5, RFC 8415 §18).
public struct StateTransition<State: TracedState>: Sendable, Equatable, CustomStringConvertible {
    public var from: State
    public var to: State
    public var at: Instant

    public init(from: State, to: State, at: Instant) {
        self.from = from
        self.to = to
        self.at = at
    }

    public var description: String { "\(State.machineName) \(from) → \(to) at \(at)" }
}
