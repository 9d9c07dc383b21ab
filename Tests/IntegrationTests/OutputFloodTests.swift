import Foundation
import Testing

/// README, "Without journald": a flood of worker output never blocks the supervisor; a separate
/// thread writes bulkhead's own output from a bounded queue, and if stderr cannot keep up,
/// lines are dropped and counted (an `output-dropped` event), never waited for.
@Suite("Output flood with a slow stderr")
struct OutputFloodTests {
    static let lines = 150_000
    static let lineBytes = 512   // 77 MB: several times what the writer's queue and the pipe hold

    @Test("a flood while nobody reads bulkhead's stderr: supervision goes on, every line arrives whole or is counted as dropped")
    func floodIntoAnUnreadPipe() async throws {
        let daemon = try DaemonHarness("""
        workers:
          - name: flood
            command: [/bin/sh, -c, "while [ ! -e {{dir}}/go ]; do sleep 0.05; done; exec {{crashlab}} --flood \(Self.lines) --line-bytes \(Self.lineBytes) --exit 0"]
          - name: ticker
            command: [{{crashlab}}, --exit, "1", --after, 100ms]
            backoff: { initial: 100ms, max: 100ms, jitter: 0 }
            crash_loop: { same_crash: 0, max_restarts: 100000 }
            backtrace: false
        """)
        try await daemon.launch()
        do {
            try await Self.flood(daemon)
        } catch {
            daemon.resumeReading()
            _ = try? await daemon.shutdown()
            throw error
        }
        #expect(try await daemon.shutdown() == 0)
    }

    static func flood(_ daemon: DaemonHarness) async throws {
        try await daemon.next("flood:0", "spawn")
        try await daemon.next("ticker:0", "spawn")

        // From here on nobody reads the daemon's stderr: its pipe fills, then its writer's queue.
        daemon.pauseReading()
        let restartsBefore = try await daemon.instances()["ticker:0"]?["restarts"] as? Int ?? 0
        _ = FileManager.default.createFile(atPath: daemon.directory + "/go", contents: nil)
        // The whole flood goes through the loop, and the ticker keeps dying and being restarted,
        // all while the output is stuck (status goes over the control socket, not stderr).
        let states = try await daemon.status(what: "the flood done and the ticker restarted 3 times, stderr unread", timeout: 180) { states in
            states["flood:0"]?["state"] as? String == "stopped"
                && (states["ticker:0"]?["restarts"] as? Int ?? 0) >= restartsBefore + 3
        }
        #expect(states["flood:0"]?["last_class"] as? String == "clean")
        daemon.resumeReading()

        // Every flood line either arrived whole or is counted in the output-dropped events.
        let accounted = try await offThread { () -> Tally in
            let deadline = Date().addingTimeInterval(Deadline.event)
            var tally = Tally(daemon.output)
            while tally.delivered + tally.droppedInAll < lines && Date() < deadline {
                _ = try? daemon.cli(["status"])   // a loop turn: it reports drops at the end of one
                usleep(200_000)
                tally = Tally(daemon.output)
            }
            return tally
        }
        #expect(accounted.droppedEvents > 0, "no output-dropped event")
        #expect(accounted.delivered > 0, "no flood line arrived")
        #expect(accounted.delivered < lines, "nothing was dropped: the flood did not outrun the queue")
        #expect(accounted.delivered + accounted.droppedInAll >= lines,
                "\(lines - accounted.delivered) flood lines did not arrive, but only \(accounted.droppedInAll) were counted as dropped")
        // The count holds every line dropped, the flood's and a few of the daemon's own (events
        // queued in the same batches): not many more than the flood lost.
        let extra = accounted.droppedInAll - (lines - accounted.delivered)
        #expect(extra <= lines / 10, "\(accounted.droppedInAll) counted as dropped for \(lines - accounted.delivered) flood lines lost")
        #expect(accounted.torn.isEmpty, "flood lines not as written: \(accounted.torn.prefix(5))")
        #expect(accounted.outOfOrder == 0, "\(accounted.outOfOrder) flood lines out of order")
    }

    /// What arrived on stderr: flood lines (whole and in order, or not), and the drop count.
    struct Tally: Sendable {
        var delivered = 0
        var torn: [String] = []
        var outOfOrder = 0
        var droppedEvents = 0
        var droppedInAll = 0

        init(_ output: [String]) {
            var last = 0
            for line in output {
                if line.hasPrefix("flood:0 | ") {
                    delivered += 1
                    let text = line.dropFirst("flood:0 | ".count)
                    // `flood I/N ` then dots: lineBytes bytes with the newline.
                    let parts = text.split(separator: " ", maxSplits: 2)
                    let number = parts.count > 1 ? Int(parts[1].split(separator: "/").first ?? "") : nil
                    if text.utf8.count != OutputFloodTests.lineBytes - 1 || parts.first != "flood" || number == nil {
                        torn.append(String(text.prefix(80)))
                    } else if let number {
                        if number <= last { outOfOrder += 1 }
                        last = number
                    }
                } else if line.hasPrefix("bulkhead * output-dropped: "), line.contains("lines dropped") {
                    droppedEvents += 1
                    // "… N lines dropped (M in all)": the last M is the total so far.
                    if let open = line.range(of: "(", options: .backwards),
                       let total = Int(line[open.upperBound...].prefix { $0.isNumber }) {
                        droppedInAll = max(droppedInAll, total)
                    }
                }
            }
        }
    }
}
