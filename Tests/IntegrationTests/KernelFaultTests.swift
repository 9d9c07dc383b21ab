import Foundation
import Glibc
import Testing

/// Issue 15, a C worker (no runtime to explain anything) that segfaults: the report names the
/// fault from the kernel's own line about it (`/dev/kmsg`: `cworker[PID]: segfault at 0 …`),
/// when the kernel printed one, and points at the core when the worker dumped one.
@Suite("Kernel fault lines and core dumps")
struct KernelFaultTests {
    /// Tests/Fixtures/swift-crashes/c/segfault.c, built into `directory`; nil without a C compiler.
    static func cworker(in directory: String) throws -> String? {
        guard let cc = tool("/usr/bin/cc") else { return nil }
        let output = directory + "/cworker"
        let compile = Process()
        compile.executableURL = URL(fileURLWithPath: cc)
        compile.arguments = ["-O0", "-g", "-o", output, PackageFiles.root + "/Tests/Fixtures/swift-crashes/c/segfault.c"]
        try compile.run()
        compile.waitUntilExit()
        try #require(compile.terminationStatus == 0, "cc failed")
        return output
    }

    static let hasCompiler = tool("/usr/bin/cc") != nil

    /// The kernel rate-limits its fault lines (a burst of 10, then one per 5 s, shared with every
    /// other test that crashes something), so a death may come without one. Each death is checked
    /// against what the kernel really logged for its pid: with a line, the headline says what it
    /// saw; without, the signal and the last line — and the fingerprint is the same either way.
    @Test("a segfaulting C worker: the kernel's fault line in the headline, one fingerprint", .enabled(if: hasCompiler, "no C compiler (/usr/bin/cc)"))
    func segfault() async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 2s, max: 2s, jitter: 0 }
          crash_loop: { same_crash: 0, max_restarts: 10, window: 1h, cooldown: 1h }
        workers:
          - name: cw
            command: [{{dir}}/cworker, "null"]
        """, prepare: { daemon in _ = try Self.cworker(in: daemon.directory) }) { daemon in
            let since = KernelLog.now()
            var fingerprints: Set<String> = []
            var withLine = 0
            var after = 0
            for death in 1...4 {
                let exit = try await daemon.next("cw:0", "exit", after: after, timeout: 120)
                after = exit.index + 1
                let report = try daemon.report(for: exit)
                #expect(report["class"] as? String == "crash")
                #expect(report["signal"] as? String == "SEGV")
                let pid = try #require(report["pid"] as? Int)
                let details = report["details"] as? [String: Any] ?? [:]
                let headline = report["headline"] as? String
                fingerprints.insert(report["fingerprint"] as? String ?? "")
                if let line = KernelLog.faultLine(of: Int32(pid), program: "cworker", since: since) {
                    withLine += 1
                    #expect(line.contains("segfault at 0 "), "\(line)")
                    #expect(headline == "null pointer dereference in cworker (SIGSEGV); last output: segfault: storing through a null pointer",
                            "kernel: \(line)")
                    #expect(report["crash_kind"] as? String == "null pointer dereference")
                    #expect(details["fault_address"] as? String == "0x0", "\(details)")
                    #expect(details["faulting_image"] as? String == "cworker", "\(details)")
                } else if details["fault_address"] != nil {
                    // The daemon read the line as it came; the ring this test reads later may have
                    // lost it to a busy machine's other messages. What the daemon said must hold.
                    #expect(headline == "null pointer dereference in cworker (SIGSEGV); last output: segfault: storing through a null pointer")
                    #expect(details["fault_address"] as? String == "0x0", "\(details)")
                } else {
                    // Rate-limited: nothing to read the fault from but the signal.
                    #expect(headline == "SIGSEGV (segmentation fault); last output: segfault: storing through a null pointer")
                }
                if death >= 2 && withLine > 0 { break }
            }
            #expect(fingerprints.count == 1, "one bug, one fingerprint: \(fingerprints)")
            if withLine == 0 { print("KernelFaultTests: the kernel logged none of the segfaults (rate limit); checked the fallback only") }
        }
    }

    /// With `limits.core` raised the worker dumps core: the report says so and names where the
    /// core is — `coredumpctl info PID` under systemd-coredump, else the file core_pattern gives.
    @Test("a core dump is pointed to", .enabled(if: hasCompiler, "no C compiler (/usr/bin/cc)"))
    func coreDump() async throws {
        let pattern = (try? String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8))?
            .trimmingCharacters(in: .newlines) ?? ""
        let usesPID = ((try? String(contentsOfFile: "/proc/sys/kernel/core_uses_pid", encoding: .utf8)) ?? "0").hasPrefix("1")
        try await withDaemon("""
        workers:
          - name: cw
            command: [{{dir}}/cworker, wild]
            cwd: {{dir}}/cores
            restart: never
            limits: { core: unlimited }
        """, prepare: { daemon in
            _ = try Self.cworker(in: daemon.directory)
            try FileManager.default.createDirectory(atPath: daemon.directory + "/cores", withIntermediateDirectories: true)
        }) { daemon in
            let exit = try await daemon.next("cw:0", "exit", timeout: 120)
            let report = try daemon.report(for: exit)
            let pid = try #require(report["pid"] as? Int)
            let pointer = (report["details"] as? [String: Any])?["coredump"] as? String
            if pattern.hasPrefix("|") {
                // Piped to a handler: only systemd-coredump's is named, and only with coredumpctl.
                let coredumpctl = tool("/usr/bin/coredumpctl") != nil && pattern.contains("systemd-coredump")
                #expect(pointer == (coredumpctl ? "coredumpctl info \(pid)" : nil), "core_pattern \(pattern)")
            } else if pattern == "core" {
                #expect(report["core_dumped"] as? Bool == true, "\(report)")
                let file = daemon.directory + "/cores/core" + (usesPID ? ".\(pid)" : "")
                #expect(pointer == file)
                #expect(FileManager.default.fileExists(atPath: file))
            } else {
                // Another file pattern: whatever is named must be there.
                #expect(pointer.map { FileManager.default.fileExists(atPath: $0) } ?? true, "core_pattern \(pattern): \(pointer ?? "nil")")
            }
        }
    }
}

/// The kernel's log, read by the test from its start, to know what the kernel really printed.
enum KernelLog {
    /// The fault line (`segfault at`, `traps:`) the kernel logged for `program[pid]` at or after
    /// `since` (µs of CLOCK_MONOTONIC, the clock of kmsg's stamps), if any. Pids are reused within a
    /// test run (pid_max is 32768 here), so the ring may hold another program's fault under the
    /// same pid from earlier; the name and the time keep that out.
    static func faultLine(of pid: Int32, program: String, since: UInt64) -> String? {
        let fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        var found: String?
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EPIPE { continue }
            guard n > 0 else { break }
            let record = String(decoding: buffer[0..<n], as: UTF8.self)
            let first = record.split(separator: "\n").first ?? ""
            let parts = first.split(separator: ";", maxSplits: 1)
            guard parts.count == 2 else { continue }
            // The prefix is `priority,sequence,microseconds,flags`.
            let fields = parts[0].split(separator: ",")
            guard fields.count >= 3, let stamp = UInt64(fields[2]), stamp >= since else { continue }
            let text = String(parts[1])
            if text.contains("\(program)[\(pid)]"), text.contains("segfault at") || text.contains("traps:") || text.contains("general protection") {
                found = text
            }
        }
        return found
    }

    /// Now, in kmsg's clock (µs of CLOCK_MONOTONIC).
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
    }
}
