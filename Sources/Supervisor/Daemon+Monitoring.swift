import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// The daemon's side of what tells people (SPEC §11): the `events`, `metrics` and `report`
/// commands, the snapshot a scrape takes, and the fields that join an event to its crash.
extension Daemon {
    // MARK: - events

    func eventsReply(_ names: [String], since: Duration?, follow: Bool) -> ControlReply {
        var workers = Set<String>()
        var instances = Set<InstanceID>()
        for name in names where name != "all" {
            switch resolveNames([name]) {
            case .success(let ids):
                if name.contains(":") { instances.formUnion(ids) } else { workers.insert(name) }
            case .failure(let failure):
                return .failure(failure)
            }
        }
        let history = monitoring.history
        let first: UInt64
        if let since {
            first = history.firstSequence(since: WallClock.nowNanoseconds() - Int64(clamping: since.nanoseconds))
        } else {
            first = follow ? history.nextSequence : history.firstSequence
        }
        let suffix = Array(("],\"following\":\(follow),\"kept\":\(history.capacity)}}").utf8) + [0x0A]
        let source = EventReply(history: history, from: first, workers: workers, instances: instances, follow: follow, suffix: suffix)
        let prefix = ControlProtocol.resultPrefix + Array("{\"events\":[".utf8)
        return follow ? .eventStream(prefix: prefix, source) : .stream(prefix: prefix, source, follow: [])
    }

    // MARK: - metrics

    func metricsReply(openMetrics: Bool) -> ControlReply {
        var snapshot = metricsSnapshot(MonotonicClock.now())
        snapshot.process = ProcessStats.read()
        let format: MetricsText.Format = openMetrics ? .openMetrics : .prometheus
        let text = MetricsText.render(snapshot, format)
        var w = CompactWriter(capacity: text.count + text.count / 8 + 128)
        w.raw(ControlProtocol.resultPrefix)
        w.raw("{\"text\":")
        w.string(String(decoding: text, as: UTF8.self))
        w.raw("}}\n")
        return .bytes(w.bytes)
    }

    /// Everything a scrape reports, as values: the loop's part of a scrape.
    func metricsSnapshot(_ now: Instant) -> MetricsSnapshot {
        status.refresh(&supervision)
        let (unsaved, lost) = reports.unsavedCounts
        let figures = MetricsSnapshot.DaemonFigures(
            version: BulkheadVersion.current, startedWallNanoseconds: startedWall,
            notifyDropped: notify.rejected.values.reduce(0, +), outputLinesDropped: counters.outputLinesDropped,
            reportsUnsaved: unsaved, reportsLost: lost, eventFollowers: control.eventFollowerCount, eventsLost: monitoring.history.lostByReaders
        )
        return MetricsSnapshot(
            counters: monitoring.counters, rows: status.rows, now: now, wallNanoseconds: WallClock.nowNanoseconds(),
            daemon: figures, output: output.countsByWorker(), hookNames: monitoring.hooks.specs.map(\.name),
            alertNames: monitoring.alertNames, hooksRunning: monitoring.hooks.runningCount, process: nil
        )
    }

    /// The metrics thread asked for a snapshot (its eventfd is readable).
    func metricsRequested() {
        guard let server = monitoring.metricsServer else { return }
        server.requests.take()
        if server.isWaiting { server.deliver(metricsSnapshot(MonotonicClock.now())) }
    }

    // MARK: - report

    /// The reliability history; `bulkhead report` computes the figures from it (the CLI does the
    /// arithmetic, so a report over a long history costs the loop a copy, not a sort).
    func reportReply() -> ControlReply {
        var head = CompactWriter(capacity: 128)
        head.raw("{\"now_ns\":")
        head.int(WallClock.nowNanoseconds())
        head.raw(",\"kept\":")
        head.int(Int64(monitoring.config.events.reportRecords))
        head.raw(",\"records\":[")
        let source = JoinedLines(Array(monitoring.ledger.records), suffix: Array("]}}\n".utf8))
        return .stream(prefix: ControlProtocol.resultPrefix + head.bytes, source, follow: [])
    }

    // MARK: - Fields that join events

    /// `failed`, `quarantined` and `breaker-open` follow a death in the same batch of actions:
    /// they carry its crash id, so a hook paging for them gets the report too.
    func followUpFields(_ event: SupervisorEvent) -> [SupervisorEvent.Field] {
        guard [.failed, .quarantined, .breakerOpen].contains(event.kind), let last = lastCrash,
              last.instance == event.instance else { return [] }
        return [.init("CRASH_ID", last.id)]
    }

    /// An operator's command on instances, as events (the reliability history tells deaths
    /// that healed by themselves from those an operator cleared).
    func announceCommand(_ command: ControlCommand.InstanceCommand, _ ids: [InstanceID], lines: [String], by peer: PeerCredentials) {
        for (index, id) in ids.enumerated() {
            let outcome = index < lines.count ? lines[index] : "\(id): \(command.rawValue)"
            emit(SupervisorEvent(.command, id, priority: 5, message: "`bulkhead \(command.rawValue)` by uid \(peer.uid) (pid \(peer.pid)): \(outcome.drop { $0 != " " }.dropFirst())"),
                 extra: [.init("COMMAND", command.rawValue)])
        }
    }
}

/// A JSON array's elements, already encoded, joined with commas a chunk at a time.
final class JoinedLines: ReplySource {
    private var lines: [[UInt8]]
    private var next = 0
    private let suffix: [UInt8]

    init(_ lines: [[UInt8]], suffix: [UInt8]) {
        self.lines = lines
        self.suffix = suffix
    }

    func refill(into output: inout [UInt8]) -> ReplyProgress {
        while next < lines.count && output.count < ReplyChunk.bytes {
            if next > 0 { output.append(0x2C) }
            output += lines[next]
            next += 1
        }
        guard next >= lines.count else { return .more }
        output += suffix
        lines = []
        return .done
    }

    func close() {
        lines = []
    }
}
