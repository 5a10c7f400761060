// swift-tools-version: 6.1
// tapvm: a tiny userspace VM that joins a LAN at layer 2 through a macvtap fd.
// Layout and conventions: see README.md. The host side (HostTap, Emulator) and the guest side (Guest)
// never import each other; they meet only in Virtio (guest memory, rings, doorbell, interrupt line).
import PackageDescription

let package = Package(
    name: "tapvm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tapvm", targets: ["tapvm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C shim: ioctl numbers and kernel headers Swift cannot import directly.
        .target(name: "CLinux"),
        // libpcap's headers (types, constants) and the tapvm_pcap_* declarations; links nothing (see shim.h):
        // no pkgConfig, whose `--libs` would add -lpcap (the headers are in /usr/include/pcap, no flags needed).
        .systemLibrary(name: "CPcap", providers: [.apt(["libpcap-dev"])]),
        // Loads libpcap with dlopen on first use (only --pcap and replay need it; loading it at start-up costs
        // about 1 ms of every run) and defines the tapvm_pcap_* functions declared in CPcap.
        .target(name: "CPcapLoader", linkerSettings: [.linkedLibrary("dl")]),

        // Packet views and values. No I/O, no state, no clock.
        .target(name: "Wire"),
        // What both sides share: guest memory, split-ring layout, feature bits, doorbell and interrupt line.
        .target(name: "Virtio", dependencies: ["CLinux", "Wire", .product(name: "SystemPackage", package: "swift-system")]),
        // Host side: the macvtap fd, and the virtio-net device model.
        .target(name: "HostTap", dependencies: ["CLinux", "Wire", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "Emulator", dependencies: ["Virtio", "Wire"]),
        // Guest side: the virtio-net driver and the network stack (the "VM").
        .target(name: "Guest", dependencies: ["Virtio", "Wire"]),
        // pcap capture through libpcap.
        .target(name: "Capture", dependencies: ["CPcap", "CPcapLoader", "Wire"]),
        // Composition: a Machine wires memory, device, guest and capture; the lab segment.
        .target(name: "TapVM", dependencies: ["Wire", "Virtio", "HostTap", "Emulator", "Guest", "Capture",
                                              .product(name: "SystemPackage", package: "swift-system")]),
        // Linked by the toolchain's lld with packed relative relocations (DT_RELR, glibc 2.36+): the dynamic
        // loader otherwise applies some 80 000 of them one by one at every start (the default gold cannot pack).
        .executableTarget(name: "tapvm", dependencies: ["TapVM", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                                                        .when(platforms: [.linux]))]),

        .testTarget(name: "WireTests", dependencies: ["Wire"]),
        .testTarget(name: "VirtioTests", dependencies: ["Virtio"]),
        .testTarget(name: "HostTapTests", dependencies: ["HostTap", "Wire"]),
        .testTarget(name: "EmulatorTests", dependencies: ["Emulator", "Virtio", "Wire"]),
        .testTarget(name: "GuestTests", dependencies: ["Guest", "Virtio", "Wire", "Emulator"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Wire"]),
        .testTarget(name: "TapVMTests", dependencies: ["TapVM", "Wire", "Guest", "HostTap", "Capture"]),
    ],
    swiftLanguageModes: [.v6]
)
