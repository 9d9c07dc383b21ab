// swift-tools-version:6.0
import PackageDescription

// Layering (see docs/ARCHITECTURE.md):
//   BulkheadPolicy  pure state machines and rules: no syscalls, no clock, no I/O
//   BulkheadJSON    a small JSON value, parser and writer (no Foundation: the CLI must start fast)
//   BulkheadForensics why a process died, from what it left (output, backtrace, kernel log): pure
//   BulkheadState   the state file's document and its JSON (durable state, re-exec): pure, total decode
//   BulkheadConfig  YAML → validated policy types, every error with file, line and key
//   CLinux          C shim for what Swift's Glibc module lacks (spawn, epoll, signalfd, cmsg, …)
//   BulkheadSystem  thin typed syscall wrappers over CLinux
//   BulkheadControl the control protocol and its client, the journal reader: what the CLI needs
//   CJournalReader  sd-journal reading through dlopen, so the CLI links no libsystemd
//   Supervisor      the supervisor: one event loop that routes events between its parts and policy
//   BulkheadFront   the `bulkhead` executable: answers a plain `bulkhead status` itself (no argument
//                   parser, no Foundation: it starts fast) and execs `bulkhead-cli` for the rest
//   BulkheadCLI     `bulkhead-cli`: every command, with ArgumentParser (help, completions)
//   DaemonMain      `bulkhead-daemon`: `bulkhead daemon` and `check-config` exec it
let package = Package(
    name: "bulkhead",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bulkhead", targets: ["BulkheadFront"]),
        .executable(name: "bulkhead-cli", targets: ["BulkheadCLI"]),
        .executable(name: "bulkhead-daemon", targets: ["DaemonMain"]),
        .library(name: "WorkerKit", targets: ["WorkerKit"]),
        .executable(name: "crashlab", targets: ["CrashLab"]),
        .executable(name: "jobworker", targets: ["ExampleWorker"]),
        .executable(name: "bulkhead-bench", targets: ["Benchmarks"]),
        .executable(name: "tinyworker", targets: ["TinyWorker"]),
        .library(name: "WorkerKitLifecycle", targets: ["WorkerKitLifecycle"]),
        .executable(name: "hello-server", targets: ["HelloServer"]),
        .executable(name: "workerkit-probe", targets: ["WorkerKitProbe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        // WorkerKitLifecycle and the hello-server example only (WorkerKit itself stays on swift-log);
        // swift-nio and swift-nio-extras come with hummingbird anyway: hello-server takes its
        // inherited socket through NIO's ServerBootstrap, which Hummingbird's API does not offer.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        .target(name: "CLinux"),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(name: "CJournalReader"),
        .target(name: "BulkheadPolicy"),
        .target(name: "BulkheadJSON"),
        .target(name: "BulkheadForensics", dependencies: ["BulkheadPolicy", "BulkheadJSON"]),
        .target(name: "BulkheadState", dependencies: ["BulkheadPolicy", "BulkheadJSON"]),
        .target(
            name: "BulkheadConfig",
            dependencies: ["BulkheadPolicy", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "BulkheadSystem", dependencies: ["CLinux", "BulkheadPolicy"]),
        .target(
            name: "BulkheadControl",
            dependencies: ["BulkheadPolicy", "BulkheadJSON", "BulkheadSystem", "CJournalReader"]
        ),
        .target(
            name: "Supervisor",
            dependencies: [
                "BulkheadPolicy", "BulkheadJSON", "BulkheadConfig", "BulkheadControl", "BulkheadForensics", "BulkheadSystem",
                "BulkheadState", "CLinux", "CSystemd",
            ]
        ),
        .executableTarget(
            name: "BulkheadFront",
            dependencies: ["BulkheadControl", "BulkheadSystem"],
            linkerSettings: [.unsafeFlags(FastStart.linkerFlags)]
        ),
        .executableTarget(
            name: "BulkheadCLI",
            dependencies: [
                "BulkheadControl", "BulkheadPolicy", "BulkheadJSON", "BulkheadSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: [.unsafeFlags(FastStart.linkerFlags)]
        ),
        .executableTarget(
            name: "DaemonMain",
            dependencies: ["Supervisor", "BulkheadConfig", "BulkheadControl", "BulkheadPolicy", "BulkheadSystem"]
        ),
        .target(
            name: "WorkerKit",
            dependencies: ["CLinux", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(name: "CrashLab", dependencies: ["CLinux"]),
        .executableTarget(
            name: "ExampleWorker",
            dependencies: ["WorkerKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "TinyWorker"),
        .executableTarget(
            name: "Benchmarks",
            dependencies: ["Supervisor", "BulkheadControl", "BulkheadSystem", "BulkheadJSON", "CLinux"]
        ),
        .testTarget(name: "BulkheadPolicyTests", dependencies: ["BulkheadPolicy"]),
        .testTarget(name: "BulkheadJSONTests", dependencies: ["BulkheadJSON"]),
        .testTarget(name: "BulkheadStateTests", dependencies: ["BulkheadState", "BulkheadPolicy", "BulkheadJSON"]),
        .testTarget(
            name: "BulkheadForensicsTests",
            dependencies: ["BulkheadForensics", "BulkheadPolicy", "BulkheadJSON"]
        ),
        .testTarget(name: "BulkheadConfigTests", dependencies: ["BulkheadConfig", "BulkheadPolicy"]),
        .testTarget(
            name: "BulkheadSystemTests",
            dependencies: ["BulkheadSystem", "BulkheadControl", "BulkheadJSON", "BulkheadPolicy", "CLinux"]
        ),
        .testTarget(
            name: "SupervisorTests",
            dependencies: ["Supervisor", "BulkheadSystem", "BulkheadControl", "BulkheadJSON", "BulkheadPolicy", "CLinux"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["BulkheadJSON", "BulkheadSystem", "CLinux"]
        ),
        .testTarget(name: "WorkerKitTests", dependencies: ["WorkerKit", "CLinux"]),
        .target(
            name: "WorkerKitLifecycle",
            dependencies: [
                "WorkerKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "HelloServer",
            dependencies: [
                "WorkerKit", "WorkerKitLifecycle",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(name: "WorkerKitProbe", dependencies: ["WorkerKit"]),
        .testTarget(
            name: "WorkerKitLifecycleTests",
            dependencies: [
                "WorkerKit", "WorkerKitLifecycle",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)

/// `bulkhead` and `bulkhead-cli` start for every command a person or a script runs, so their
/// start-up is trimmed at link time (measured in README, "Benchmarks"): lld, relative relocations packed
/// (DT_RELR, glibc 2.36+), and with `--static-swift-stdlib` libstdc++ linked statically too
/// (Linker/static-libstdc++/libstdc++.so). Together about 1.3 ms of a 6 ms `bulkhead status`.
/// Only the CLI targets have these flags: SwiftPM refuses unsafe flags in the products a
/// dependent uses, and a package that depends on WorkerKit uses WorkerKit and CLinux only.
enum FastStart {
    static let linkerFlags = [
        "-use-ld=lld",
        "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
        "-L", Context.packageDirectory + "/Linker/static-libstdc++",
    ]
}


// libFuzzer targets (Fuzz/README.md): declared only for `scripts/fuzz`, which builds them with
// `--sanitize fuzzer --sanitize address` in .build-fuzz; the normal build never sees them.
if Context.environment["BULKHEAD_FUZZ_BUILD"] == "1" {
    package.targets += [
        .executableTarget(
            name: "BulkheadFuzz",
            dependencies: [
                "BulkheadConfig", "BulkheadControl", "BulkheadForensics", "BulkheadJSON",
                "BulkheadPolicy", "BulkheadState", "BulkheadSystem", "CLinux", "Supervisor",
            ],
            path: "Fuzz/Targets"
        ),
    ]
    package.products.append(.executable(name: "bulkhead-fuzz", targets: ["BulkheadFuzz"]))
}
