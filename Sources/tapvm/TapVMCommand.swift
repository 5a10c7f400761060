import ArgumentParser

@main
struct TapVMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tapvm", abstract: "A tiny userspace VM on a macvtap fd.")
    func run() throws {}
}
