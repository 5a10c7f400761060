import HostTap

/// What can go wrong while composing a machine or a lab. Every case reads as one line saying what is wrong and
/// what to do about it.
public enum TapVMError: Error, CustomStringConvertible, Sendable {
    case notRoot(String)
    case missingProgram(String)
    case labExists(String)
    case labMissing(String)
    case invalidName(String)
    case invalidOption(String)
    case commandFailed(String, String)
    case tap(TapError)
    case guest(String)
    case timeout(String)
    case interrupted
    case unexpected(String)

    public var description: String {
        switch self {
        case let .notRoot(what): "\(what) needs root (network namespaces, macvtap): run it with sudo"
        case let .missingProgram(name):
            "\(name) is not installed: run tools/demo (it installs it) or apt-get install \(Self.package(for: name))"
        case let .labExists(name): "lab \(name) is already up: use it, or take it down with 'tapvm lab down --name \(name)'"
        case let .labMissing(name): "lab \(name) is not up: start it with 'tapvm lab up --name \(name)'"
        case let .invalidOption(line): line
        case let .invalidName(name): "'\(name)' is not a valid name: use 1-12 characters from a-z, 0-9 and '-'"
        case let .commandFailed(command, line): "'\(command)' failed: \(line)"
        case let .tap(error): "\(error)"
        case let .guest(line): line
        case let .timeout(what): "timed out \(what)"
        case .interrupted: "interrupted"
        case let .unexpected(line): "unexpected: \(line)"
        }
    }

    static func package(for program: String) -> String {
        switch program {
        case "ip": "iproute2"
        case "ping": "iputils-ping"
        default: program
        }
    }
}
