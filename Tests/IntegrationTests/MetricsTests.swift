import Foundation
import Glibc
import Testing

/// `/metrics` and `bulkhead metrics` (SPEC §11), checked by Prometheus' own tools: promtool on
/// the text, and a real Prometheus scraping the daemon.
@Suite("Metrics")
struct MetricsTests {
    static let promtool = tool("/usr/bin/promtool")
    static let prometheus = tool("/usr/bin/prometheus")

    static func config(port: Int) -> String {
        """
        metrics: { listen: "127.0.0.1:\(port)" }
        hooks:
          - { name: note, on: [exit], exec: [/bin/true] }
        alerts:
          - { name: crashing, when: { event: crash, count: 2, within: 1m } }
        workers:
          - name: api
            command: [{{crashlab}}, --die, abort, --after, 300ms, --print, hello]
            instances: 2
            backtrace: false
            backoff: { initial: 100ms, max: 200ms }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
          - name: idle
            command: [{{crashlab}}]
        """
    }

    /// promtool's verdict on `text` (stdin), or nil without promtool.
    static func lint(_ text: String) throws -> (code: Int32, output: String)? {
        guard let promtool else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: promtool)
        p.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = output
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("/metrics serves the text format (OpenMetrics on Accept), promtool-clean, with the counts of what happened")
    func scrape() async throws {
        let port = LoopbackHTTP.freePort()
        let daemon = try DaemonHarness(Self.config(port: port))
        try await daemon.launch()
        try await daemon.nextLine(what: "metrics serving") { $0.contains("metrics: serving http://127.0.0.1:\(port)/metrics") }
        _ = await Processes.waitUntil { daemon.count("api:0", "exit") >= 3 && daemon.count("api:1", "exit") >= 3 }

        let response = try await offThread { try LoopbackHTTP.get(port: port) }
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let text = response.body
        if let lint = try Self.lint(text) {
            #expect(lint.code == 0, "promtool check metrics: \(lint.output)")
        }
        let restarts = try #require(MetricsText.value(#"bulkhead_worker_restarts_total{worker="api",slot="0"}"#, in: text))
        #expect(restarts >= 2)
        #expect(MetricsText.value(#"bulkhead_worker_deaths_total{worker="api",slot="1",class="crash"}"#, in: text) ?? 0 >= 3)
        #expect(MetricsText.value(#"bulkhead_worker_state{worker="idle",slot="0",state="running"}"#, in: text) == 1)
        #expect(MetricsText.value(#"bulkhead_worker_last_exit_code{worker="api",slot="0"}"#, in: text) == 134, "SIGABRT: 128 + 6")
        #expect(MetricsText.value("bulkhead_detect_latency_seconds_count", in: text) ?? 0 >= 6)
        #expect(MetricsText.value("bulkhead_restart_latency_seconds_count", in: text) ?? 0 >= 4)
        #expect(MetricsText.value(#"bulkhead_alert_firing{alert="crashing"}"#, in: text) == 1)
        #expect(MetricsText.value(#"bulkhead_output_lines_total{worker="api",stream="stdout"}"#, in: text) ?? 0 >= 6)
        #expect(MetricsText.value("bulkhead_daemon_threads", in: text) ?? 0 >= 2)
        #expect(MetricsText.value("bulkhead_daemon_resident_memory_bytes", in: text) ?? 0 > 1_000_000)
        #expect(!text.contains("instance=\"") && !text.contains("job=\""), "instance and job are the scrape target's")
        let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.count
        #expect(families == text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.count)

        let open = try await offThread { try LoopbackHTTP.get(port: port, accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5") }
        #expect(open.headers["content-type"]?.hasPrefix("application/openmetrics-text; version=1.0.0") == true)
        #expect(open.body.hasSuffix("# EOF\n"))
        #expect(open.body.contains("# TYPE bulkhead_worker_restarts counter\n"))
        let missing = try await offThread { try LoopbackHTTP.get(port: port, path: "/nope") }
        #expect(missing.status == 404)

        // The same text over the control socket.
        let cli = try await daemon.command(["metrics"])
        #expect(cli.code == 0)
        #expect(cli.stdout.hasPrefix("# HELP bulkhead_build_info "))
        if let lint = try Self.lint(cli.stdout) { #expect(lint.code == 0, "promtool check metrics (bulkhead metrics): \(lint.output)") }
        try await daemon.shutdown()
    }

    @Test("a real Prometheus scrapes the daemon and its HTTP API answers bulkhead_worker_restarts_total after crashes",
          .enabled(if: MetricsTests.prometheus != nil, "prometheus is not installed (scripts/install-deps --tests installs it)"))
    func prometheusScrapes() async throws {
        let port = LoopbackHTTP.freePort()
        let daemon = try DaemonHarness(Self.config(port: port))
        try await daemon.launch()
        let webPort = LoopbackHTTP.freePort()
        let dir = daemon.directory
        try """
        global: { scrape_interval: 1s, evaluation_interval: 1s }
        scrape_configs:
          - job_name: bulkhead
            static_configs: [{ targets: ["127.0.0.1:\(port)"] }]
        """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: try #require(Self.prometheus))
        server.arguments = ["--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/tsdb",
                            "--web.listen-address=127.0.0.1:\(webPort)", "--log.level=warn"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        // Prometheus' own view: the target is up, and the restarts it scraped carry worker and slot.
        let query = "/api/v1/query?query=bulkhead_worker_restarts_total%7Bworker%3D%22api%22%7D"
        var answer: [String: Any] = [:]
        let found = await Processes.waitUntil(timeout: 90) {
            guard let r = try? LoopbackHTTP.get(port: webPort, path: query, timeout: 5), r.status == 200,
                  let json = try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
                  let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]], result.count == 2,
                  result.allSatisfy({ (($0["value"] as? [Any])?.last as? String).flatMap(Double.init) ?? 0 >= 2 }) else { return false }
            return true
        }
        if let r = try? LoopbackHTTP.get(port: webPort, path: query, timeout: 5) {
            answer = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]) ?? [:]
        }
        #expect(found, "Prometheus never had two api series with 2 or more restarts: \(answer)")
        let result = ((answer["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        for series in result {
            let labels = series["metric"] as? [String: String] ?? [:]
            #expect(labels["job"] == "bulkhead")
            #expect(labels["instance"] == "127.0.0.1:\(port)", "the scrape target, not a label of ours")
            #expect(labels["exported_instance"] == nil)
            #expect(labels["worker"] == "api" && ["0", "1"].contains(labels["slot"] ?? ""))
        }
        // An alert rule of the README's kind evaluates against it.
        let increase = "/api/v1/query?query=increase(bulkhead_worker_restarts_total%5B5m%5D)%20%3E%200"
        // `increase` needs two scrapes a restart apart: asked until it has them.
        let rose = await Processes.waitUntil(timeout: 60) {
            guard let r = try? LoopbackHTTP.get(port: webPort, path: increase, timeout: 5), r.status == 200 else { return false }
            return r.body.contains("\"api\"")
        }
        let rising = try? await offThread { try LoopbackHTTP.get(port: webPort, path: increase) }
        #expect(rose, "\(rising?.body ?? "no answer")")
        try await daemon.shutdown()
    }
}
