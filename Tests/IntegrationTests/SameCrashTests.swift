import Foundation
import Testing

/// SPEC §3: the same crash `same_crash` times in a row, with no stable run between, is a
/// deterministic bug: the death becomes `persistent` (→ `failed`) and the report says so.
@Suite("Same-crash escalation")
struct SameCrashTests {
    /// Kinds whose fingerprint comes from different evidence: a fatal message with a source
    /// location, a message with an address in it, a message with an actor's context address,
    /// and nothing but the signal.
    static let kinds = ["fatal-error", "exclusivity", "assume-isolated-actor", "abort"]

    @Test("the same crash three times in a row is persistent: failed, with a note", arguments: kinds)
    func escalates(_ kind: String) async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 50ms, max: 50ms, jitter: 0 }
        workers:
          - name: det
            command: [{{crashlab}}, --die, \(kind)]
            crash_loop: { same_crash: 3, max_restarts: 2, window: 1h, cooldown: 1h }
        """, name: "same-crash-\(kind)") { daemon in
            var exits: [Seen] = []
            var after = 0
            for _ in 0..<3 {
                let exit = try await daemon.next("det:0", "exit", after: after)
                exits.append(exit)
                after = exit.index + 1
            }
            #expect(exits[0].line.contains(": crash (default: signal "), "\(exits[0].line)")
            #expect(exits[1].line.contains(": crash (default: signal "), "\(exits[1].line)")
            #expect(exits[2].line.contains(": persistent (default: signal "), "\(exits[2].line)")
            try await daemon.next("det:0", "failed", after: exits[2].index, containing: ["failed (persistent)"])

            let reports = try exits.map { try daemon.report(for: $0) }
            let fingerprints = Set(reports.compactMap { $0["fingerprint"] as? String })
            #expect(fingerprints.count == 1, "one crash, one fingerprint: \(fingerprints)")
            #expect(reports[0]["class"] as? String == "crash")
            #expect(reports[0]["note"] == nil)
            let last = reports[2]
            #expect(last["class"] as? String == "persistent")
            #expect(last["original_class"] as? String == "crash")
            let note = last["note"] as? String ?? ""
            #expect(note.contains("the same crash") && note.contains("3 times in a row"), "note: \(note)")
            #expect((last["action"] as? String)?.hasPrefix("failed") == true)

            let states = try await daemon.instances()
            #expect(states["det:0"]?["state"] as? String == "failed")
            #expect(daemon.events("spawn", of: "det:0").count == 3)
        }
    }

    @Test("crashes that differ each time are not escalated")
    func differentCrashesRestart() async throws {
        // Alternates between two crashes (the file flips each run): never the same twice in a row.
        try await withDaemon("""
        defaults:
          backoff: { initial: 50ms, max: 50ms, jitter: 0 }
        workers:
          - name: flip
            command: [/bin/sh, -c, "if [ -e {{dir}}/flip ]; then rm {{dir}}/flip; exec {{crashlab}} --die fatal-error; else touch {{dir}}/flip; exec {{crashlab}} --die abort; fi"]
            crash_loop: { same_crash: 2, max_restarts: 4, window: 1h, cooldown: 1h }
        """) { daemon in
            var after = 0
            var fingerprints: [String] = []
            for _ in 0..<5 {
                let exit = try await daemon.next("flip:0", "exit", after: after)
                #expect(exit.line.contains(": crash (default: signal "), "\(exit.line)")
                fingerprints.append(try daemon.report(for: exit)["fingerprint"] as? String ?? "")
                after = exit.index + 1
            }
            #expect(Set(fingerprints).count == 2, "\(fingerprints)")
            #expect(daemon.events("failed", of: "flip:0").isEmpty)
        }
    }
}
