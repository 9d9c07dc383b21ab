import BulkheadSystem
import Glibc
import Testing
@testable import Supervisor

/// Where the daemon finds a Swift backtracer for statically linked workers, and how it names it.
@Suite struct SwiftBacktracerTests {
    /// `<root>/usr/bin/swift` (a link to the driver, as toolchains ship it) and the backtracers
    /// under `<root>/usr/libexec/swift/linux`.
    func toolchain(_ root: String, backtracers: [String]) throws {
        try FileSystem.makeDirectories(root + "/usr/bin")
        try FileSystem.makeDirectories(root + "/usr/libexec/swift/linux")
        try FileSystem.writeAtomically(root + "/usr/bin/swift-driver", Array("#!/bin/sh\n".utf8), mode: 0o755)
        #expect(symlink(root + "/usr/bin/swift-driver", root + "/usr/bin/swift") == 0)
        for name in backtracers {
            try FileSystem.writeAtomically(root + "/usr/libexec/swift/linux/" + name, Array("#!/bin/sh\n".utf8), mode: 0o755)
        }
    }

    @Test func theToolchainOfTheSwiftOnPathStaticFirst() throws {
        let root = try temporaryDirectory("backtracer")
        defer { FileSystem.removeTree(root) }
        try toolchain(root, backtracers: ["swift-backtrace", "swift-backtrace-static"])
        let found = SwiftBacktracer.locate(path: "/nonexistent:" + root + "/usr/bin", ownExecutable: root + "/elsewhere/bulkhead-daemon")
        #expect(found == root + "/usr/libexec/swift/linux/swift-backtrace-static")
    }

    @Test func besideBulkheadBeforeTheToolchain() throws {
        let root = try temporaryDirectory("backtracer")
        defer { FileSystem.removeTree(root) }
        try toolchain(root, backtracers: ["swift-backtrace-static"])
        try FileSystem.makeDirectories(root + "/package/bin")
        try FileSystem.writeAtomically(root + "/package/bin/swift-backtrace-static", Array("#!/bin/sh\n".utf8), mode: 0o755)
        let found = SwiftBacktracer.locate(path: root + "/usr/bin", ownExecutable: root + "/package/bin/bulkhead-daemon")
        #expect(found == root + "/package/bin/swift-backtrace-static")
    }

    @Test func theSettingNamesItUnlessItCannot() {
        #expect(WorkerLauncher.backtraceSetting(directory: "/var/lib/bulkhead/backtraces/api.0", backtracer: "/opt/swift/bt")
            == "enable=yes,interactive=no,color=no,format=json,output-to=/var/lib/bulkhead/backtraces/api.0,swift-backtrace=/opt/swift/bt")
        #expect(WorkerLauncher.backtraceSetting(directory: "/d", backtracer: nil) == "enable=yes,interactive=no,color=no,format=json,output-to=/d")
        // The runtime splits its setting at commas.
        #expect(WorkerLauncher.backtraceSetting(directory: "/d", backtracer: "/opt/a,b/bt") == "enable=yes,interactive=no,color=no,format=json,output-to=/d")
    }
}
