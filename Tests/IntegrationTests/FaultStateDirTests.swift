import Foundation
import Glibc
import Testing

/// Fault suite (issue 19): the crash report directory stops taking writes under a running
/// daemon. (A full disk is `HostileInputTests.fullDisk`.) The daemon must keep supervising,
/// count every death, and never lose a report silently: one the disk refuses is said
/// (`report-not-saved`), counted (`crash_reports_unsaved`), served from memory, and written
/// once the directory takes writes again.
@Suite("Faults: state_dir")
struct FaultStateDirTests {
    enum Fault: String, CaseIterable, Sendable {
        /// The filesystem remounted read-only.
        case readOnly = "read-only"
        /// state_dir removed, crash reports and all.
        case deleted
    }

    @Test("state_dir read-only or deleted while workers crash: supervision goes on, every report is served, counted while unsaved, written when it can be",
          arguments: Fault.allCases)
    func refused(_ fault: Fault) async throws {
        let mountPoint = FileManager.default.temporaryDirectory.path + "/bh-fault-\(fault.rawValue)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=4m") == 0 else {
            Issue.record("cannot mount a tmpfs (\(String(cString: strerror(errno)))): this test needs root")
            return
        }
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let stateDir = mountPoint + "/state"
        try await withDaemon("""
        state_dir: \(stateDir)
        output: { journal: off }
        crash_reports: { coalesce_after: 0 }   # every death its own report: the test counts them
        defaults:
          crash_loop: { same_crash: 0, max_restarts: 100000 }
        workers:
          - name: crasher
            command: [{{crashlab}}, --die, abort, --after, 100ms]
            backoff: { initial: 300ms, max: 300ms, jitter: 0 }
            backtrace: false
        """) { daemon in
            let first = try await daemon.next("crasher:0", "exit")
            let firstID = try #require(DaemonHarness.crashID(in: first.line))
            #expect(await Processes.waitUntil { FileManager.default.fileExists(atPath: "\(stateDir)/crashes/\(firstID).json") })

            let injected = daemon.mark
            switch fault {
            case .readOnly:
                // The daemon holds files open for writing there (its lock, the reliability
                // history), so the filesystem cannot be remounted read-only under it; a read-only
                // bind mount over the state directory makes every new write fail with EROFS, as
                // a disk remounted read-only on errors does.
                #expect(mount(stateDir, stateDir, nil, UInt(MS_BIND), nil) == 0, "bind: \(String(cString: strerror(errno)))")
                #expect(mount(nil, stateDir, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY), nil) == 0, "read-only: \(String(cString: strerror(errno)))")
            case .deleted:
                try FileManager.default.removeItem(atPath: stateDir)
            }

            // Three deaths after the fault: each is counted (an exit event with a crash id) and
            // its report can be read, from the disk or from memory.
            var ids: [String] = []
            var after = injected
            for _ in 0..<3 {
                let exit = try await daemon.next("crasher:0", "exit", after: after)
                ids.append(try #require(DaemonHarness.crashID(in: exit.line), "an exit without a crash id: \(exit.line)"))
                after = exit.index + 1
            }
            for id in ids {
                let shown = try await daemon.command(["crash", id, "--json"])
                #expect(shown.code == 0 && shown.stdout.contains(id), "crash \(id) after the fault: \(shown.stderr)")
            }
            #expect(try await daemon.command(["stop", "crasher"]).code == 0)

            // Whatever is not on the disk is counted and was said: once the writer (a thread at
            // nice 10, slow on a busy machine) has tried each, the counts cover what is missing.
            let missing = Self.absent(ids.map { "\(stateDir)/crashes/\($0).json" })
            let expected = missing.count
            _ = await Processes.waitUntil {
                let counters = ((try? daemon.statusJSON().document["daemon"]) as? [String: Any]) ?? [:]
                return (counters["crash_reports_unsaved"] as? Int ?? 0) + (counters["crash_reports_lost"] as? Int ?? 0) >= expected
            }
            let document = try await offThread { Handed(value: try daemon.statusJSON().document) }.value
            let counters = document["daemon"] as? [String: Any] ?? [:]
            let unsaved = counters["crash_reports_unsaved"] as? Int ?? -1
            let lost = counters["crash_reports_lost"] as? Int ?? -1
            #expect(unsaved + lost >= missing.count, """
                \(missing.count) reports missing from the disk, counted unsaved \(unsaved), lost \(lost); \
                missing \(missing), on disk \((try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/crashes")) ?? []), \
                said \(daemon.events("report-not-saved"))
                """)
            if !missing.isEmpty {
                #expect(!daemon.events("report-not-saved").isEmpty, "reports missing from the disk and no report-not-saved event")
            }
            #expect(lost == 0, "reports lost (dropped from memory) after three deaths: \(lost)")

            // The directory takes writes again: every report waiting in memory reaches it.
            switch fault {
            case .readOnly:
                #expect(umount2(stateDir, 0) == 0, "writable again: \(String(cString: strerror(errno)))")
            case .deleted:
                break   // the store makes the directory again when it next writes
            }
            let paths = ids.map { "\(stateDir)/crashes/\($0).json" }
            let written = await Processes.waitUntil {
                let unsaved = ((try? daemon.statusJSON().document["daemon"]) as? [String: Any])?["crash_reports_unsaved"] as? Int
                return unsaved == 0 && Self.absent(paths).isEmpty
            }
            #expect(written, "reports still waiting after the directory took writes again: \(Self.absent(paths))")
            #expect(daemon.process?.isRunning == true)
        }
    }

    static func absent(_ paths: [String]) -> [String] {
        paths.filter { !FileManager.default.fileExists(atPath: $0) }
    }
}
