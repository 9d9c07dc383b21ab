import BulkheadPolicy

/// Reads `events`, `hooks`, `alerts` and `metrics` (SPEC §11). Worker names a hook or an alert
/// refers to are checked against the workers read before.
struct MonitoringReader {
    let diagnostics: Diagnostics
    let options: ConfigOptions
    /// The workers of the file, for `hooks[].workers` and `alerts[].when.worker`.
    let workerNames: Set<String>

    static let hookKeys = ["name", "on", "workers", "exec", "timeout", "rate", "concurrency"]
    static let alertKeys = ["name", "when", "priority"]
    static let rateConditionKeys = ["event", "worker", "count", "within"]
    static let stateConditionKeys = ["state", "worker", "for"]
    /// Syslog priorities an alert may have: it is worth a page, or at least a warning.
    static let priorities: [(word: String, value: Int)] = [("alert", 1), ("crit", 2), ("err", 3), ("warning", 4)]

    func read(_ top: MappingFields) -> MonitoringConfig {
        var config = MonitoringConfig()
        if let field = top["events"] { config.events = readEvents(field) }
        if let field = top["hooks"], let items = diagnostics.list(field, of: "hooks") {
            config.hooks = items.enumerated().compactMap { readHook($1, index: $0) }
            checkUniqueNames(config.hooks.map { ($0.name, $0.sourceLine) }, items, what: "hook")
        }
        if let field = top["alerts"], let items = diagnostics.list(field, of: "alerts") {
            config.alerts = items.compactMap(readAlert)
            checkUniqueNames(config.alerts.map { ($0.name, $0.sourceLine) }, items, what: "alert")
        }
        if let field = top["metrics"] { config.metrics = readMetrics(field) }
        return config
    }

    // MARK: - events

    private func readEvents(_ field: Field) -> EventsConfig {
        var events = EventsConfig()
        guard let mapping = diagnostics.mapping(field, known: ["history", "report_records", "hook_processes"]) else { return events }
        for (key, value) in mapping.entries {
            switch key {
            case "history": if let n = diagnostics.int(value, in: ConfigRanges.eventHistory) { events.history = n }
            case "report_records": if let n = diagnostics.int(value, in: ConfigRanges.reportRecords) { events.reportRecords = n }
            case "hook_processes": if let n = diagnostics.int(value, in: ConfigRanges.hookProcesses) { events.hookProcesses = n }
            default: break
            }
        }
        return events
    }

    // MARK: - hooks

    private func readHook(_ field: Field, index: Int) -> HookSpec? {
        let d = diagnostics
        guard let mapping = d.mapping(field, known: Self.hookKeys) else { return nil }
        var valid = true
        var name = "hooks[\(index)]"
        if let value = mapping["name"] {
            if let given = checkedName(value) { name = given } else { valid = false }
        }
        var selectors: [EventSelector] = []
        if let value = mapping["on"] {
            if let read = readSelectors(value) { selectors = read } else { valid = false }
        } else {
            d.report(mapping.site, "missing key \"on\" (the events that run it, e.g. [failed, quarantined, breaker-open, alert])")
            valid = false
        }
        var command: [String] = []
        if let value = mapping["exec"] {
            if let read = WorkerFieldsReader(diagnostics: d).readCommand(value) {
                command = read.value.map(\.value)
                if options.checksExecutables {
                    d.checkExecutable(read, env: [], cwd: nil, searchPath: options.searchPath, asWarning: options.missingExecutablesAreWarnings)
                }
            } else {
                valid = false
            }
        } else {
            d.report(mapping.site, "missing key \"exec\" (the program and its arguments)")
            valid = false
        }
        var spec = HookSpec(name: name, on: selectors, command: command, sourceLine: field.site.line)
        for (key, value) in mapping.entries {
            switch key {
            case "workers":
                if let workers = readWorkers(value) { spec.workers = workers } else { valid = false }
            case "timeout":
                if let timeout = d.duration(value, in: ConfigRanges.hookTimeout) { spec.timeout = timeout } else { valid = false }
            case "rate":
                if let rate = readRate(value) { spec.rate = rate } else { valid = false }
            case "concurrency":
                if let n = d.int(value, in: ConfigRanges.hookConcurrency) { spec.concurrency = n } else { valid = false }
            default: break
            }
        }
        return valid ? spec : nil
    }

    private func readSelectors(_ field: Field) -> [EventSelector]? {
        guard let items = diagnostics.list(field, of: "event names", scalarAllowed: true) else { return nil }
        guard !items.isEmpty else {
            diagnostics.report(field.site, "is empty: give the events that run it")
            return nil
        }
        var selectors: [EventSelector] = []
        for item in items {
            guard let selector = readSelector(item) else { return nil }
            if selector == .kind(.hook) {
                diagnostics.report(item.site, "a hook cannot run on `hook` events (a failing hook would run itself)")
                return nil
            }
            if !selectors.contains(selector) { selectors.append(selector) }
        }
        return selectors
    }

    private func readSelector(_ field: Field) -> EventSelector? {
        guard let word = diagnostics.nonEmptyString(field) else { return nil }
        if let selector = EventSelector(word: word) { return selector }
        let hint = Suggestion.hint(for: word, in: EventSelector.words)
        diagnostics.report(field.site, "\(quoted(word)) is not an event name, a death class or \"death\"\(hint) (events: \(EventKind.allCases.map(\.rawValue).joined(separator: ", ")); classes: \(DeathClass.allCases.map(\.rawValue).joined(separator: ", ")))")
        return nil
    }

    private func readWorkers(_ field: Field) -> [String]? {
        guard let items = diagnostics.list(field, of: "worker names", scalarAllowed: true) else { return nil }
        var names: [String] = []
        for item in items {
            guard let name = knownWorker(item) else { return nil }
            names.append(name)
        }
        return names
    }

    private func knownWorker(_ field: Field) -> String? {
        guard let name = diagnostics.nonEmptyString(field) else { return nil }
        guard workerNames.contains(name) else {
            let hint = Suggestion.hint(for: name, in: workerNames.sorted())
            diagnostics.report(field.site, "no worker is named \(quoted(name))\(hint)")
            return nil
        }
        return name
    }

    /// `10/5m`: a count, a slash, a duration.
    private func readRate(_ field: Field) -> EventRate? {
        guard let (text, _) = diagnostics.scalar(field, expected: "a rate such as 10/5m") else { return nil }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
        guard parts.count == 2, let count = Int(parts[0]), let per = Units.duration(String(parts[1])) else {
            diagnostics.report(field.site, "\(quoted(text)) is not a rate: write runs/duration, e.g. 10/5m (at most 10 runs in any 5 minutes)")
            return nil
        }
        let counts = ConfigRanges.hookRateCount
        guard count >= counts.lowerBound else {
            diagnostics.report(field.site, "the count \(count) must be at least \(counts.lowerBound)")
            return nil
        }
        guard count <= counts.upperBound else {
            diagnostics.report(field.site, "the count \(count) is above the maximum \(counts.upperBound)")
            return nil
        }
        let periods = ConfigRanges.hookRatePeriod
        guard per > .zero, per >= periods.lowerBound else {
            diagnostics.report(field.site, "the period must be more than 0 (at least \(Units.format(periods.lowerBound)))")
            return nil
        }
        guard per <= periods.upperBound else {
            diagnostics.report(field.site, "the period \(quoted(String(parts[1]))) is above the maximum \(Units.format(periods.upperBound))")
            return nil
        }
        return EventRate(count: count, per: per)
    }

    // MARK: - alerts

    private func readAlert(_ field: Field) -> AlertRule? {
        let d = diagnostics
        guard let mapping = d.mapping(field, known: Self.alertKeys) else { return nil }
        var name: String?
        if let value = mapping["name"] {
            guard let given = checkedName(value) else { return nil }
            name = given
        } else {
            d.report(mapping.site, "missing key \"name\" (it names the alert in events, hooks and metrics)")
        }
        var priority = 2
        if let value = mapping["priority"] {
            guard let chosen = d.choice(value, Self.priorities) else { return nil }
            priority = chosen
        }
        guard let when = mapping["when"] else {
            d.report(mapping.site, "missing key \"when\" (e.g. { event: crash, worker: api, count: 5, within: 5m } or { state: quarantined })")
            return nil
        }
        guard let condition = readCondition(when), let name else { return nil }
        return AlertRule(name: name, condition: condition, priority: priority, sourceLine: field.site.line)
    }

    private func readCondition(_ field: Field) -> AlertCondition? {
        let d = diagnostics
        guard let mapping = d.mapping(field, known: Self.rateConditionKeys + Self.stateConditionKeys.filter { $0 != "worker" }) else { return nil }
        var worker: String?
        if let value = mapping["worker"] {
            guard let known = knownWorker(value) else { return nil }
            worker = known
        }
        switch (mapping["event"], mapping["state"]) {
        case (let event?, nil):
            for key in ["for"] where mapping[key] != nil {
                d.report(mapping[key]!.site, "\"for\" goes with state; an event rule counts with count and within")
                return nil
            }
            guard let selector = readSelector(event) else { return nil }
            var count = 1
            if let value = mapping["count"] {
                guard let n = d.int(value, in: ConfigRanges.alertCount) else { return nil }
                count = n
            }
            guard let within = mapping["within"] else {
                d.report(field.site, "missing key \"within\" (the window the events are counted in, e.g. 5m)")
                return nil
            }
            guard let window = d.duration(within, in: ConfigRanges.alertWindow) else { return nil }
            return .rate(selector, worker: worker, count: count, within: window)
        case (nil, let state?):
            for key in ["count", "within"] where mapping[key] != nil {
                d.report(mapping[key]!.site, "\"\(key)\" goes with event; a state rule may have for")
                return nil
            }
            guard let watched = d.choice(state, AlertState.allCases.map { ($0.rawValue, $0) }) else { return nil }
            var lasting: Duration = .zero
            if let value = mapping["for"] {
                guard let duration = d.duration(value, in: ConfigRanges.alertFor) else { return nil }
                lasting = duration
            }
            return .state(watched, worker: worker, for: lasting)
        case (_?, _?):
            d.report(field.site, "give event (a rate rule) or state (a state rule), not both")
            return nil
        case (nil, nil):
            d.report(field.site, "give event with count and within (e.g. { event: crash, count: 5, within: 5m }) or state (e.g. { state: quarantined })")
            return nil
        }
    }

    // MARK: - metrics

    private func readMetrics(_ field: Field) -> MetricsConfig? {
        guard let mapping = diagnostics.mapping(field, known: ["listen"]) else { return nil }
        guard let listen = mapping["listen"] else {
            diagnostics.report(mapping.site, "missing key \"listen\" (an address and a port, e.g. \"127.0.0.1:9464\"; leave metrics out to serve none)")
            return nil
        }
        guard let text = diagnostics.nonEmptyString(listen) else { return nil }
        guard let address = Self.listenAddress(text) else {
            diagnostics.report(listen.site, "\(quoted(text)) is not an address and a port: write \"127.0.0.1:9464\", \"[::1]:9464\", or \"0.0.0.0:9464\" for every interface")
            return nil
        }
        guard address.port >= ConfigRanges.metricsPort.lowerBound else {
            diagnostics.report(listen.site, "port \(address.port) must be at least \(ConfigRanges.metricsPort.lowerBound)")
            return nil
        }
        guard address.port <= ConfigRanges.metricsPort.upperBound else {
            diagnostics.report(listen.site, "port \(address.port) is above the maximum \(ConfigRanges.metricsPort.upperBound)")
            return nil
        }
        return address
    }

    /// `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464` (= 127.0.0.1): numeric addresses only,
    /// so nothing is looked up when the daemon starts.
    static func listenAddress(_ text: String) -> MetricsConfig? {
        var host: Substring
        var port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            if host == "localhost" { host = "127.0.0.1" }
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigitCharacter) && Int($0)! <= 255 }) else {
                return nil
            }
        }
        guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCIIDigitCharacter), let number = Int(port) else { return nil }
        guard host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        return MetricsConfig(host: String(host), port: number)
    }

    // MARK: - Names

    private func checkedName(_ field: Field) -> String? {
        guard let name = diagnostics.nonEmptyString(field) else { return nil }
        let scalars = Array(name.unicodeScalars)
        let isStart: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        guard let first = scalars.first, isStart(first), scalars.count <= 64,
              scalars.allSatisfy({ isStart($0) || $0 == "_" || $0 == "-" }) else {
            diagnostics.report(field.site, "\(quoted(name)) is not a valid name (lower-case letters, digits, _ and -, starting with a letter or digit, at most 64)")
            return nil
        }
        return name
    }

    private func checkUniqueNames(_ names: [(String, Int)], _ items: [Field], what: String) {
        var first: [String: Int] = [:]
        for (name, line) in names {
            if let earlier = first[name] {
                let site = items.first { $0.site.line == line }?.site ?? Site(path: "", line: line, column: 0)
                diagnostics.report(site, "duplicate \(what) name \(quoted(name)) (first defined at line \(earlier))")
            } else {
                first[name] = line
            }
        }
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
