import ArgumentParser
import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

struct CrashesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crashes",
        abstract: "List crash reports, newest first.",
        discussion: """
        Every death that is not clean has a report (SPEC §7). NAME limits the list to a worker or an \
        instance. `bulkhead crash ID` shows one in full. --group lists one row per crash \
        fingerprint instead (count, first and last seen, class, the newest report's id, headline), \
        most frequent first, over every report kept.

        Examples:
          bulkhead crashes
          bulkhead crashes api -n 5
          bulkhead crashes --group
          bulkhead crashes --json | jq -r '.[0].id'
        """
    )

    @Argument(help: "A worker or an instance.", completion: .custom(CLI.completeNames))
    var name: String?

    @Option(name: .short, help: "At most this many reports.")
    var n: Int = 50

    @Flag(name: .long, help: "Print the summaries as a JSON array.")
    var json = false

    @Flag(name: .long, help: "One row per crash fingerprint, most frequent first.")
    var group = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard n >= 1 && n <= 100_000 else { throw ValidationError("-n takes 1 to 100000 reports") }
    }

    func run() throws {
        var arguments: [(String, JSON)] = [("limit", .int(Int64(group ? 100_000 : n)))]
        if let name { arguments.append(("name", .string(name))) }
        let result = try connection.call("crashes", arguments)
        let crashes = result["crashes"]?.array ?? []
        if group {
            CrashGroups.print(CrashGroups.make(crashes).prefix(n), json: json, name: name)
            return
        }
        if json {
            CLI.printJSON(.array(crashes))
            return
        }
        guard !crashes.isEmpty else {
            CLI.print(name.map { "no crash reports for \($0)" } ?? "no crash reports")
            return
        }
        var table = TextTable(["ID", "INSTANCE", "ENDED", "CLASS", "HOW", "REASON"])
        for c in crashes {
            table.add([
                c["id"]?.string ?? "?", c["instance"]?.string ?? "?",
                c["ended_at"]?.string.map { TextFormat.localTime($0) } ?? "?",
                c["class"]?.string ?? "?", c["how"]?.string ?? "?", c["reason"]?.string ?? "",
            ])
        }
        try? FileDescriptor.standardOutput.writeAll(Array(table.render().utf8))
    }
}

struct CrashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash",
        abstract: "Show one crash report in full.",
        discussion: """
        ID comes from `bulkhead crashes` (or the `[crash ID]` of an exit line in the log). \
        --json prints the report exactly as stored (schema: SPEC §7).

        Examples:
          bulkhead crash 20261129-140327-412-api-0
          bulkhead crash "$(bulkhead crashes api -n 1 --json | jq -r '.[0].id')" --json
        """
    )

    @Argument(help: "The report's id.")
    var id: String

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let report = try connection.call("crash", [("id", .string(id))])
        if json {
            CLI.printJSON(report)
            return
        }
        try? FileDescriptor.standardOutput.writeAll(Array(CrashText.render(report).utf8))
    }
}

/// A crash report for a person: the facts first, then backtrace, stderr and breadcrumbs.
enum CrashText {
    static func render(_ r: JSON) -> String {
        var out = "crash \(r["id"]?.string ?? "?")\n"
        func field(_ label: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            out += "  " + label + String(repeating: " ", count: max(1, 13 - label.count)) + value + "\n"
        }
        var instance = r["instance"]?.string ?? "?"
        if let pid = r["pid"]?.int { instance += " (pid \(pid))" }
        field("instance", instance)
        var klass = r["class"]?.string ?? "?"
        if let original = r["original_class"]?.string { klass += " (escalated from \(original))" }
        if let rule = r["rule"]?.string { klass += ", by \(rule)" }
        field("class", klass)
        if let signal = r["signal"]?.string {
            field("how", "killed by SIG\(signal)" + (r["core_dumped"]?.bool == true ? " (core dumped)" : ""))
        } else if let code = r["exit_code"]?.int {
            field("how", "exited with code \(code)")
        } else {
            field("how", r["spawn_error"]?.string.map { "could not start: \($0)" })
        }
        field("started", r["started_at"]?.string.map { TextFormat.localTime($0) })
        field("ended", r["ended_at"]?.string.map { TextFormat.localTime($0) })
        field("uptime", r["uptime_ms"]?.int.map { DurationText.short(milliseconds: $0) })
        field("fatal error", r["fatal_message"]?.string)
        field("at", r["source_location"]?.string)
        if r["fatal_message"]?.string == nil { field("headline", r["headline"]?.string) }
        field("action", r["action"]?.string)
        field("note", r["note"]?.string)
        field("restarts", r["restarts"]?.int.map { "\($0)" })
        field("fingerprint", r["fingerprint"]?.string)
        if let latency = r["detect_latency_us"]?.int {
            field("noticed in", "\(latency)us (\(r["detect_latency_source"]?.string ?? "?"))")
        }
        if let command = r["command"]?.array?.compactMap(\.string), !command.isEmpty {
            field("command", command.joined(separator: " "))
        }
        let backtrace = r["backtrace"]
        if let frames = backtrace?["frames"]?.array, !frames.isEmpty {
            out += "backtrace" + (backtrace?["crashed_thread"]?.string.map { " (thread \($0))" } ?? "") + ":\n"
            for frame in frames {
                var line = "  \(frame["index"]?.int ?? 0)  \(frame["function"]?.string ?? "?")"
                if let source = frame["source"]?.string { line += "  at \(source)" }
                out += line + "\n"
            }
        } else if let threads = backtrace?["threads"]?.array, !threads.isEmpty {
            out += "threads (a dump, nothing crashed):\n"
            for thread in threads {
                out += "  thread \(thread["name"]?.string ?? "?"):\n"
                for frame in thread["frames"]?.array ?? [] {
                    out += "    \(frame["index"]?.int ?? 0)  \(frame["function"]?.string ?? "?")\n"
                }
            }
        }
        if let tail = r["stderr_tail"]?.array, !tail.isEmpty {
            out += "stderr (last \(tail.count) lines):\n"
            for line in tail { out += "  " + (line.string ?? "") + "\n" }
        }
        if let crumbs = r["breadcrumbs"]?.array, !crumbs.isEmpty {
            out += "breadcrumbs:\n"
            for crumb in crumbs {
                out += "  \(crumb["at"]?.string.map { TextFormat.localTime($0, withDate: false) } ?? "?")  \(crumb["text"]?.string ?? "")\n"
            }
        }
        return out
    }
}

struct SignalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Send a signal to instances' main processes (fault injection).",
        discussion: """
        NAME is a worker (all its instances), an instance (api:1) or all; SIG a name (KILL, SIGSEGV, \
        usr1) or a number. Only the main process gets it (not its process group); the death that \
        follows is classified and reported like any other. Each signal sent is logged.

        Examples:
          bulkhead signal api:0 SEGV      # a crash: report, backoff, restart
          bulkhead signal api KILL
          bulkhead signal cache:0 USR1
        """
    )

    @Argument(help: "A worker, an instance or all.", completion: .custom(CLI.completeNames))
    var name: String

    @Argument(help: "The signal: a name or a number.", completion: .list(["TERM", "KILL", "SEGV", "ABRT", "ILL", "BUS", "INT", "HUP", "QUIT", "USR1", "USR2", "STOP", "CONT"]))
    var signal: String

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard let number = BulkheadPolicy.Signals.number(signal), number > 0, number <= 64 else {
            throw ValidationError("\"\(signal)\" is not a signal: use a name (TERM, KILL, SEGV, USR1, …) or a number from 1 to 64")
        }
    }

    func run() throws {
        let number = BulkheadPolicy.Signals.number(signal) ?? 0
        let result = try connection.call("signal", [("names", [.string(name)]), ("signal", .int(Int64(number)))])
        for line in result["lines"]?.array ?? [] {
            if let text = line.string { CLI.print(text) }
        }
    }
}

/// `crashes --group`: the reports kept, one row per (worker, fingerprint).
enum CrashGroups {
    struct Group {
        var fingerprint: String
        var worker: String
        var deathClass: String
        var count = 0
        var first: String
        var last: String
        var exampleID: String
        var headline: String
    }

    /// `summaries` newest first, as `crashes` answers.
    static func make(_ summaries: [JSON]) -> [Group] {
        var groups: [String: Group] = [:]
        var order: [String] = []
        for s in summaries {
            let print = s["fingerprint"]?.string ?? ""
            let worker = s["worker"]?.string ?? "?"
            let key = worker + "/" + print
            let ended = s["ended_at"]?.string ?? ""
            if groups[key] == nil {
                order.append(key)
                groups[key] = Group(fingerprint: print, worker: worker, deathClass: s["class"]?.string ?? "?", first: ended, last: ended,
                                    exampleID: s["id"]?.string ?? "?", headline: s["reason"]?.string ?? "")
            }
            groups[key]?.count += 1
            if ended < groups[key]?.first ?? "" { groups[key]?.first = ended }
        }
        return order.compactMap { groups[$0] }.enumerated().sorted { a, b in
            a.element.count != b.element.count ? a.element.count > b.element.count : a.offset < b.offset
        }.map(\.element)
    }

    static func print(_ groups: ArraySlice<Group>, json: Bool, name: String?) {
        if json {
            CLI.printJSON(.array(groups.map { g in
                .object([
                    ("fingerprint", .string(g.fingerprint)), ("worker", .string(g.worker)), ("class", .string(g.deathClass)),
                    ("count", .int(Int64(g.count))), ("first_seen", .string(g.first)), ("last_seen", .string(g.last)),
                    ("example_id", .string(g.exampleID)), ("headline", .string(g.headline)),
                ])
            }))
            return
        }
        guard !groups.isEmpty else {
            CLI.print(name.map { "no crash reports for \($0)" } ?? "no crash reports")
            return
        }
        var table = TextTable(["COUNT", "WORKER", "CLASS", "FIRST SEEN", "LAST SEEN", "EXAMPLE", "HEADLINE"])
        for g in groups {
            table.add(["\(g.count)", g.worker, g.deathClass, TextFormat.localTime(g.first), TextFormat.localTime(g.last), g.exampleID, g.headline])
        }
        try? FileDescriptor.standardOutput.writeAll(Array(table.render().utf8))
    }
}
