import Foundation
import Testing

/// Every way a Swift program traps (shared/notes/swift-traps.md, crashlab's `--die` kinds), run
/// under the real daemon: the death is a `crash` by the measured signal, the report says why,
/// carries the backtracer's frames, and the instance runs again.
@Suite("Swift traps under the daemon")
struct TrapTests {
    /// Where a debug build's report says why the worker died.
    enum Reason: Sendable {
        /// The runtime printed a fatal message: `fatal_message` holds this text.
        case message(String)
        /// Only the backtracer's runtime-failure frame says why: `headline`.
        case headline(String)
        /// Nothing names the failure; the crashed thread's frames show where it happened.
        case frame(String)
        /// Nothing at all but the signal: the backtracer's `signal_description`.
        case signalDescription(String)
    }

    struct Trap: Sendable, CustomTestStringConvertible {
        var kind: String
        var signal: String
        var reason: Reason
        var testDescription: String { kind }
    }

    // The debug build (what `swift build --build-tests` makes) prints a fatal message for nearly
    // every trap. A release build prints nothing at all for precondition, force-unwrap,
    // index-out-of-range, overflow-* and divide-by-zero: there, only the backtracer's headline
    // (precondition, overflow, divide) or nothing but the frames (force-unwrap, index) says why
    // (docs/notes/backtracer.md §1).
    static let table: [Trap] = [
        Trap(kind: "fatal-error", signal: "ILL", reason: .message("Fatal error: crashlab: deliberate fatalError")),
        Trap(kind: "precondition", signal: "ILL", reason: .message("Precondition failed: crashlab: deliberate precondition failure")),
        Trap(kind: "assert", signal: "ILL", reason: .message("Assertion failed: crashlab: deliberate assertion failure")),
        Trap(kind: "force-unwrap", signal: "ILL", reason: .message("Unexpectedly found nil while unwrapping an Optional value")),
        Trap(kind: "iuo-nil", signal: "ILL", reason: .message("Unexpectedly found nil while implicitly unwrapping an Optional value")),
        Trap(kind: "index-out-of-range", signal: "ILL", reason: .message("Index out of range")),
        Trap(kind: "dict-duplicate-key", signal: "ILL", reason: .message("Duplicate values for key")),
        Trap(kind: "overflow-add", signal: "ILL", reason: .headline("Swift runtime trap: arithmetic overflow in RuntimeTraps.overflowAdd()")),
        Trap(kind: "overflow-sub", signal: "ILL", reason: .headline("Swift runtime trap: arithmetic overflow in RuntimeTraps.overflowSub()")),
        Trap(kind: "overflow-mul", signal: "ILL", reason: .headline("Swift runtime trap: arithmetic overflow in RuntimeTraps.overflowMul()")),
        Trap(kind: "divide-by-zero", signal: "ILL", reason: .message("Division by zero")),
        Trap(kind: "nan-to-int", signal: "ILL", reason: .message("either infinite or NaN")),
        Trap(kind: "negative-to-uint", signal: "ILL", reason: .message("Negative value is not representable")),
        Trap(kind: "bad-range", signal: "ILL", reason: .message("Range requires lowerBound <= upperBound")),
        Trap(kind: "continuation-twice", signal: "ILL", reason: .message("SWIFT TASK CONTINUATION MISUSE")),
        // Main-actor checks fail inside libdispatch, which prints nothing on Linux.
        Trap(kind: "assert-isolated", signal: "ILL", reason: .frame("_dispatch_assert_queue_fail")),
        Trap(kind: "precondition-isolated", signal: "ILL", reason: .frame("_dispatch_assert_queue_fail")),
        Trap(kind: "assume-isolated", signal: "ILL", reason: .frame("_dispatch_assert_queue_fail")),
        Trap(kind: "mainactor-on-dispatch", signal: "ILL", reason: .frame("_dispatch_assert_queue_fail")),
        // Custom-actor checks abort, with the runtime's own message (backtracer.md §3).
        Trap(kind: "assert-isolated-actor", signal: "ABRT", reason: .message("Incorrect actor executor assumption")),
        Trap(kind: "precondition-isolated-actor", signal: "ABRT", reason: .message("Incorrect actor executor assumption")),
        Trap(kind: "assume-isolated-actor", signal: "ABRT", reason: .message("Incorrect actor executor assumption")),
        Trap(kind: "throw-from-async-main", signal: "ILL", reason: .message("Error raised at top level")),
        Trap(kind: "abort", signal: "ABRT", reason: .signalDescription("Aborted")),
        Trap(kind: "exclusivity", signal: "ABRT", reason: .message("Simultaneous accesses to")),
        Trap(kind: "unowned-after-free", signal: "ABRT", reason: .message("Attempted to read an unowned reference")),
        Trap(kind: "null-deref", signal: "SEGV", reason: .signalDescription("Bad pointer dereference")),
        Trap(kind: "stack-overflow", signal: "SEGV", reason: .signalDescription("Bad pointer dereference")),
        Trap(kind: "trap-in-taskgroup", signal: "ILL", reason: .message("deliberate fatalError in a TaskGroup child")),
        Trap(kind: "trap-in-detached-task", signal: "ILL", reason: .message("deliberate fatalError in a detached Task")),
        Trap(kind: "trap-in-dispatch", signal: "ILL", reason: .message("deliberate fatalError in a Dispatch block")),
    ]

    @Test("a trap is a crash by its signal, with a report that says why and frames, and a restart", arguments: table)
    func trap(_ trap: Trap) async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 300ms, max: 300ms, jitter: 0 }
          # One restart, then the breaker holds it: a crash loop would only load the machine.
          crash_loop: { same_crash: 0, max_restarts: 1, window: 1h, cooldown: 1h }
        workers:
          - name: trap
            command: [{{crashlab}}, --die, \(trap.kind)]
        """, name: "trap-\(trap.kind)") { daemon in
            let spawn = try await daemon.next("trap:0", "spawn")
            let exit = try await daemon.next("trap:0", "exit", after: spawn.index)
            #expect(exit.line.contains("killed by SIG\(trap.signal): crash (default: signal \(trap.signal))"), "\(exit.line)")
            try await daemon.next("trap:0", "spawn", after: exit.index)

            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == "crash")
            #expect(report["signal"] as? String == trap.signal)
            #expect(report["rule"] as? String == "default: signal \(trap.signal)")
            #expect(report["pid"] as? Int == DaemonHarness.spawnedPID(spawn.line).map(Int.init))
            #expect(report["core_dumped"] as? Bool == false)
            #expect((report["action"] as? String)?.hasPrefix("restart") == true, "\(report["action"] ?? "nil")")
            #expect(!((report["fingerprint"] as? String) ?? "").isEmpty)
            let latency = try #require(report["detect_latency_us"] as? Int, "detect_latency_us: \(report["detect_latency_us"] ?? "nil")")
            // 0 is a measurement too: the kernel stamps its exit event just after it notifies
            // the parent, so a loop already awake can reap the death before its stamp
            // (Daemon+Reaping.swift, kernelDetectLatency).
            #expect(latency >= 0 && latency < 5_000_000, "detect_latency_us \(latency)")

            // The backtracer ran (stdin /dev/null, interactive=no) and its frames were kept.
            let backtrace = try #require(report["backtrace"] as? [String: Any], "no backtrace in \(report)")
            let frames = (backtrace["frames"] as? [[String: Any]]) ?? []
            #expect(!frames.isEmpty, "no frames: \(backtrace)")
            let functions = frames.compactMap { $0["function"] as? String }

            let message = report["fatal_message"] as? String
            let headline = report["headline"] as? String
            switch trap.reason {
            case .message(let text):
                #expect(message?.contains(text) == true, "fatal_message \(message ?? "nil"); stderr \(report["stderr_tail"] ?? "nil")")
            case .headline(let text):
                #expect(headline?.hasPrefix(text) == true, "headline \(headline ?? "nil")")
            case .frame(let function):
                #expect(functions.contains { $0.contains(function) }, "frames \(functions)")
            case .signalDescription(let text):
                #expect(backtrace["signal_description"] as? String == text, "\(backtrace["signal_description"] ?? "nil")")
            }
            // Issue 15: the headline is the one the recordings' table gives this kind (a debug
            // build is what the test suite runs), never a banner.
            #expect(headline == SwiftHeadlines.headline(trap.kind, "debug"), "headline \(headline ?? "nil")")
            #expect(headline?.contains("Backtracing") == false && headline?.contains("***") == false)
        }
    }

    @Test("a fatalError names its source location and the first frame of the program's own code")
    func sourceLocation() async throws {
        try await withDaemon("""
        defaults:
          crash_loop: { same_crash: 0, max_restarts: 1, window: 1h, cooldown: 1h }
        workers:
          - name: trap
            command: [{{crashlab}}, --die, fatal-error]
        """) { daemon in
            let exit = try await daemon.next("trap:0", "exit")
            let report = try daemon.report(for: exit)
            #expect(report["source_location"] as? String == "CrashLab/RuntimeTraps.swift:7")
            let frames = try #require((report["backtrace"] as? [String: Any])?["frames"] as? [[String: Any]])
            #expect(frames.contains { ($0["source"] as? String)?.hasSuffix("Sources/CrashLab/RuntimeTraps.swift:7") == true }, "\(frames)")
        }
    }

    struct RaisedSignal: Sendable, CustomTestStringConvertible {
        var name: String
        var deathClass: String
        var testDescription: String { "signal-\(name)" }
    }

    /// A signal the worker raises on itself with the default disposition: no backtracer runs.
    static let signals: [RaisedSignal] = [
        RaisedSignal(name: "BUS", deathClass: "crash"),
        RaisedSignal(name: "FPE", deathClass: "crash"),
        RaisedSignal(name: "SYS", deathClass: "crash"),
        RaisedSignal(name: "TRAP", deathClass: "crash"),
        RaisedSignal(name: "ILL", deathClass: "crash"),
        RaisedSignal(name: "KILL", deathClass: "transient"),
        RaisedSignal(name: "TERM", deathClass: "transient"),
        RaisedSignal(name: "USR1", deathClass: "transient"),
        RaisedSignal(name: "XCPU", deathClass: "limit"),
    ]

    @Test("a signal the worker raises is classified by the default table and restarted", arguments: signals)
    func raisedSignal(_ signal: RaisedSignal) async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 300ms, max: 300ms, jitter: 0 }
          crash_loop: { same_crash: 0, max_restarts: 1, window: 1h, cooldown: 1h }
        workers:
          - name: sig
            command: [{{crashlab}}, --die, signal-\(signal.name)]
        """, name: "signal-\(signal.name)") { daemon in
            let exit = try await daemon.next("sig:0", "exit")
            #expect(exit.line.contains("killed by SIG\(signal.name): \(signal.deathClass) ("), "\(exit.line)")
            let report = try daemon.report(for: exit)
            #expect(report["class"] as? String == signal.deathClass)
            #expect(report["signal"] as? String == signal.name)
            #expect((report["rule"] as? String)?.hasPrefix("default: signal \(signal.name)") == true, "\(report["rule"] ?? "nil")")
            #expect(report["backtrace"] is NSNull, "a raised signal with the default action runs no backtracer")
            try await daemon.next("sig:0", "spawn", after: exit.index)
        }
    }
}
