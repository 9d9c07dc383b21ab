import CLinux
import Glibc
import Testing

@testable import WorkerKit

/// The sd_listen_fds rules, each without a process.
@Suite("listenFDs: the rules")
struct ListenFDRulesTests {
    typealias Variables = ListenFDVariables

    @Test(arguments: [
        // (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES) → sockets for pid 100
        (Variables(pid: "100", count: "2", names: "http:admin"), ["http=3", "admin=4"]),
        (Variables(pid: "100", count: "1", names: nil), ["unknown=3"]),
        (Variables(pid: "100", count: "3", names: "a::c"), ["a=3", "=4", "c=5"]),
        (Variables(pid: "100", count: "0", names: nil), []),
        (Variables(pid: "100", count: "0", names: ""), []),
        (Variables(pid: "101", count: "2", names: "http:admin"), []),  // meant for another process
        (Variables(pid: nil, count: "2", names: "http:admin"), []),
        (Variables(pid: "100", count: nil, names: "http"), []),
        (Variables(pid: nil, count: nil, names: nil), []),
    ])
    func socketsFromVariables(variables: Variables, expected: [String]) throws {
        #expect(try variables.sockets(processID: 100).map(\.description) == expected)
    }

    @Test(arguments: [
        (Variables(pid: "x", count: "1", names: nil), ListenFDsError.malformed(variable: "LISTEN_PID", value: "x")),
        (Variables(pid: "0", count: "1", names: nil), .malformed(variable: "LISTEN_PID", value: "0")),
        (Variables(pid: "100", count: "one", names: nil), .malformed(variable: "LISTEN_FDS", value: "one")),
        (Variables(pid: "100", count: "-1", names: nil), .malformed(variable: "LISTEN_FDS", value: "-1")),
        (Variables(pid: "100", count: "2", names: "http"), .nameCountMismatch(names: 1, descriptors: 2)),
        (Variables(pid: "100", count: "1", names: "http:admin"), .nameCountMismatch(names: 2, descriptors: 1)),
    ])
    func malformedVariablesAreErrors(variables: Variables, expected: ListenFDsError) {
        #expect(throws: expected) { try variables.sockets(processID: 100) }
        #expect(expected.failureClass == .persistent)
    }
}

/// `listenFDs()` in a real child that inherited real listening sockets at fds 3, 4, … with the
/// variables set as a supervisor sets them: `LISTEN_PID` is the child's own pid, which only the
/// child knows, so `/bin/sh` sets it and execs the probe in the same process.
@Suite("listenFDs in a child process", .serialized)
struct ListenFDsProcessTests {
    @Test func theChildGetsItsNamedSocketsMarkedCloseOnExecAndTheVariablesGone() async throws {
        let sockets = try [ListeningSocket(), ListeningSocket()]
        let lines = try await runProbe(sockets: sockets, environment: ["LISTEN_FDS": "2", "LISTEN_FDNAMES": "http:admin"])
        #expect(lines == [
            "fd=3 name=http cloexec=1 listening=1",
            "fd=4 name=admin cloexec=1 listening=1",
            "LISTEN_PID=<unset>", "LISTEN_FDS=<unset>", "LISTEN_FDNAMES=<unset>",
        ])
    }

    @Test func withoutNamesEachSocketIsUnknown() async throws {
        let lines = try await runProbe(sockets: [ListeningSocket()], environment: ["LISTEN_FDS": "1"])
        #expect(lines.first == "fd=3 name=unknown cloexec=1 listening=1")
    }

    @Test func keepEnvironmentLeavesTheVariables() async throws {
        let lines = try await runProbe(
            sockets: [ListeningSocket()], environment: ["LISTEN_FDS": "1", "LISTEN_FDNAMES": "http"], probeArguments: ["--keep-environment"]
        )
        #expect(lines.first == "fd=3 name=http cloexec=1 listening=1")
        #expect(lines.contains("LISTEN_FDS=1"))
        #expect(lines.contains("LISTEN_FDNAMES=http"))
        #expect(lines.contains { $0.hasPrefix("LISTEN_PID=") && $0 != "LISTEN_PID=<unset>" })
    }

    @Test func variablesForAnotherProcessPassNothingButAreStillRemoved() async throws {
        // LISTEN_PID is this test process's pid, as if a parent's variables leaked through exec.
        let lines = try await runProbe(
            sockets: [ListeningSocket()], environment: ["LISTEN_FDS": "1", "LISTEN_PID": String(getpid())], listenPIDIsChild: false
        )
        #expect(lines == ["LISTEN_PID=<unset>", "LISTEN_FDS=<unset>", "LISTEN_FDNAMES=<unset>"])
    }

    @Test func aNameCountMismatchIsAnError() async throws {
        let lines = try await runProbe(sockets: [ListeningSocket(), ListeningSocket()], environment: ["LISTEN_FDS": "2", "LISTEN_FDNAMES": "http"])
        #expect(lines.first == "error=LISTEN_FDNAMES has 1 name(s) but LISTEN_FDS counts 2 socket(s)")
        #expect(lines.contains("LISTEN_FDS=<unset>"))
    }

    @Test func aCountBeyondThePassedDescriptorsIsAnError() async throws {
        let lines = try await runProbe(sockets: [ListeningSocket()], environment: ["LISTEN_FDS": "2"])
        #expect(lines.first?.hasPrefix("error=LISTEN_FDS passes fd 4, which is not open") == true, "\(lines)")
    }

    /// Runs `workerkit-probe listen-fds` with `sockets` as fds 3, 4, … and returns its output lines.
    private func runProbe(
        sockets: [ListeningSocket], environment extra: [String: String], probeArguments: [String] = [], listenPIDIsChild: Bool = true
    ) async throws -> [String] {
        let output = bh_memfd("probe-stdout", 0)
        guard output >= 0 else { throw TestFailure("memfd failed") }
        defer { close(output) }
        var environment = ["PATH": "/usr/bin:/bin"]
        environment.merge(extra) { _, new in new }
        // `$$` is the shell's pid, and `exec` keeps it: the probe runs with LISTEN_PID = its pid.
        let script = listenPIDIsChild ? #"LISTEN_PID=$$ exec "$0" "$@""# : #"exec "$0" "$@""#
        let child = try ChildProcess(
            path: "/bin/sh",
            arguments: ["-c", script, try TestBinaries.path(of: "workerkit-probe"), "listen-fds"] + probeArguments,
            environment: environment,
            extraFDs: sockets.map(\.fd),
            stdoutFD: output
        )
        let exit = try #require(await child.waitForExit(until: deadline(in: 20)), "the probe did not exit")
        #expect(exit.summary == "exit 0")
        var info = stat()
        guard fstat(output, &info) == 0 else { throw TestFailure("fstat failed") }
        var buffer = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = pread(output, &buffer, buffer.count, 0)
        return String(decoding: buffer[0..<max(0, count)], as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// A TCP socket listening on 127.0.0.1 (any port), CLOEXEC in this process as every fd should be.
final class ListeningSocket: Sendable {
    let fd: Int32

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestFailure("bind/listen failed: \(errno)")
        }
    }

    deinit { close(fd) }
}
