import BulkheadPolicy
import BulkheadSystem

/// What tells people (SPEC §11), hung off the event stream: the history and its followers
/// (`bulkhead events`), the metrics counters, alert rules, hooks and the reliability history
/// (`bulkhead report`). It subscribes to `SupervisorEvents`; each event costs the loop a ring
/// append, a few counter updates and, only when a hook or an alert wants it, a little more.
/// The rest happens elsewhere: hook programs run as processes, `/metrics` is served from a
/// thread, the history file is written by another.
final class Monitoring {
    private(set) var config: MonitoringConfig
    let history: EventHistory
    var counters = MetricsCounters()
    private var alerts: AlertEngine
    let hooks: HookRunner
    let ledger: ReliabilityLedger
    private(set) var metricsServer: MetricsServer?
    private var metricsToken: UInt64 = 0

    /// The daemon's: publish an event (hooks' and alerts' own), followers to wake, a worker's
    /// `reset_after`.
    var publish: (SupervisorEvent, [SupervisorEvent.Field]) -> Void = { _, _ in }
    var eventsAppended: () -> Void = {}
    var stableAfter: (String) -> Duration? = { _ in nil }

    /// Crash reports that arrived lately, for an event naming one after it was written.
    private var recentReports: [(id: String, bytes: [UInt8])] = []

    init(config: MonitoringConfig, stateDir: String, loop: EventLoop, processes: ProcessTable, devNull: FileDescriptor, socketPath: String) {
        self.config = config
        history = EventHistory(capacity: config.events.history)
        alerts = AlertEngine(rules: config.alerts)
        hooks = HookRunner(specs: config.hooks, processCap: config.events.hookProcesses, loop: loop, processes: processes,
                           devNull: devNull, socketPath: socketPath)
        ledger = ReliabilityLedger(path: stateDir + "/reliability.jsonl", keep: config.events.reportRecords)
        hooks.finished = { [unowned self] hook, result in counters.hookFinished(hook, result: result) }
        hooks.suppressed = { [unowned self] hook in counters.hookSuppressed(hook) }
        hooks.publish = { [unowned self] event, extra in publish(event, extra) }
    }

    // MARK: - Events

    /// Every event the daemon publishes.
    func eventPublished(_ event: SupervisorEvent, _ extra: [SupervisorEvent.Field]) {
        let now = MonotonicClock.now()
        let record = history.append(event, extra: extra, wall: WallClock.nowNanoseconds())
        counters.count(event, extra: extra, now: now, wall: record.wallNanoseconds)
        eventsAppended()
        ledger.observe(record, stableAfter: stableAfter)
        let deathClass = event.kind == .exit ? record.field("CLASS").flatMap(DeathClass.init(rawValue:)) : nil
        let matching = hooks.matching(event.kind, deathClass: deathClass, worker: record.worker)
        if !matching.isEmpty { offer(record, to: matching, now) }
        if !config.alerts.isEmpty {
            announce(alerts.observe(event.kind, instance: event.instance, deathClass: deathClass, command: record.field("COMMAND"), now))
        }
    }

    private func offer(_ record: EventRecord, to matching: [Int], _ now: Instant) {
        let crashID = record.field("CRASH_ID")
        var payload = HookPayload(event: Array(EventJSON.line(record).dropLast()), kind: record.event.kind, worker: record.worker,
                                  instance: record.event.instance?.description, crashID: crashID, alert: record.field("ALERT"))
        var waits = false
        if let crashID {
            payload.report = recentReports.first { $0.id == crashID }?.bytes
            waits = payload.report == nil
        }
        for hook in matching { hooks.offer(hook, payload, waitsForReport: waits, now) }
    }

    /// Whether deaths of `worker` should keep a copy of their crash report for hooks.
    func wantsReports(of worker: String) -> Bool {
        hooks.specs.contains { spec in
            [EventKind.exit, .failed, .quarantined, .breakerOpen].contains { kind in
                DeathClass.allCases.contains { spec.matches(kind, deathClass: kind == .exit ? $0 : nil, worker: worker) }
            }
        }
    }

    /// The crash report writer finished reports hooks asked for.
    func reportsWritten(_ copies: [(id: String, bytes: [UInt8])], _ now: Instant) {
        for copy in copies {
            recentReports.append(copy)
            if recentReports.count > 8 { recentReports.removeFirst() }
            hooks.reportWritten(copy.id, copy.bytes, now)
        }
    }

    private func announce(_ transitions: [AlertEngine.Transition]) {
        for t in transitions {
            var extra: [SupervisorEvent.Field] = [.init("ALERT", t.rule)]
            if let worker = t.worker, t.instance == nil { extra.append(.init("WORKER", worker)) }
            publish(SupervisorEvent(t.firing ? .alert : .alertCleared, t.instance, priority: t.priority, message: t.message), extra)
        }
    }

    // MARK: - Time

    var deadline: Instant? {
        [hooks.deadline, config.alerts.isEmpty ? nil : alerts.nextDeadline].compactMap { $0 }.min()
    }

    func tick(_ now: Instant) {
        if let due = hooks.deadline, due <= now { hooks.tick(now) }
        if !config.alerts.isEmpty, let due = alerts.nextDeadline, due <= now { announce(alerts.tick(now)) }
    }

    // MARK: - Metrics

    var alertNames: [String] { alerts.ruleNames }

    /// Binds `metrics.listen` and starts serving; the event to log says where, or why not.
    func startMetrics(_ loop: EventLoop) -> SupervisorEvent? {
        guard let wanted = config.metrics else { return nil }
        do {
            let server = try MetricsServer(config: wanted)
            metricsToken = try loop.register(server.requests.descriptor, .readable, .metricsRequest)
            guard server.start() else {
                server.stop()
                return SupervisorEvent(.daemon, nil, priority: 3, message: "metrics: no thread could be started; /metrics is not served (bulkhead metrics still answers)")
            }
            metricsServer = server
            return SupervisorEvent(.daemon, nil, priority: 5, message: "metrics: serving http://\(wanted.address)/metrics")
        } catch {
            return SupervisorEvent(.daemon, nil, priority: 3, message: "metrics: cannot listen on \(wanted.address) (\(error)); /metrics is not served (bulkhead metrics still answers)")
        }
    }

    private func stopMetrics(_ loop: EventLoop) {
        guard let server = metricsServer else { return }
        loop.unregister(server.requests.descriptor, token: metricsToken)
        server.stop()
        metricsServer = nil
    }

    // MARK: - Reload and the end

    /// A reload: new sizes, hooks, rules, metrics address. What is already known is kept.
    func reconfigure(_ new: MonitoringConfig, instances: Set<InstanceID>, loop: EventLoop, _ now: Instant) -> [SupervisorEvent] {
        let old = config
        config = new
        history.resize(new.events.history)
        ledger.reconfigure(keep: new.events.reportRecords)
        hooks.reconfigure(new.hooks, processCap: new.events.hookProcesses)
        counters.retain(instances)
        announce(alerts.reconfigure(new.alerts, now) + alerts.retain(instances: instances, now))
        var notes: [SupervisorEvent] = []
        if new.metrics != old.metrics {
            stopMetrics(loop)
            if let note = startMetrics(loop) { notes.append(note) }
            if new.metrics == nil { notes.append(SupervisorEvent(.daemon, nil, priority: 5, message: "metrics: no longer served (metrics removed from the config)")) }
        }
        return notes
    }

    func stop(_ loop: EventLoop) {
        hooks.stop()
        stopMetrics(loop)
        ledger.drain(timeoutNanoseconds: 2_000_000_000)
    }
}
