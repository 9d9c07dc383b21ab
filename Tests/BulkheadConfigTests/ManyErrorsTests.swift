import BulkheadConfig
import BulkheadPolicy
import Testing

@Suite("all errors in one pass")
struct ManyErrorsTests {
    @Test func everyProblemIsReportedSortedByLine() {
        let yaml = """
            control:
              mode: rw
            defaults:
              backoff: { jitter: 2 }
              restrat: always
            workers:
              - name: api
                command: [/usr/local/bin/definitely-not-here]
                instances: 0
                depends_on: [cahce]
                backoff:
                  initial: 10 seconds
              - name: api
                command: []
              - name: Worker
                command: [/bin/true]
                rules:
                  - when: {}
                    then: crash
            """
        let errors = ConfigLoader.check(yaml: yaml, file: "bulkhead.yaml", options: ConfigOptions(searchPath: "/usr/bin"))
        #expect(errors.map(\.description) == [
            #"bulkhead.yaml:2: control.mode: "rw" is not a file mode (octal permission bits, e.g. "0660")"#,
            "bulkhead.yaml:4: defaults.backoff.jitter: must be between 0 and 1 (got 2.0): it is a fraction of the delay",
            #"bulkhead.yaml:5: defaults.restrat: unknown key (did you mean "restart"?)"#,
            #"bulkhead.yaml:8: workers[0].command[0]: "/usr/local/bin/definitely-not-here" does not exist"#,
            "bulkhead.yaml:9: workers[0].instances: must be at least 1 (got 0)",
            #"bulkhead.yaml:10: workers[0].depends_on[0]: unknown worker "cahce""#,
            #"bulkhead.yaml:12: workers[0].backoff.initial: "10 seconds" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#,
            #"bulkhead.yaml:13: workers[1].name: duplicate worker name "api" (first defined at line 7)"#,
            "bulkhead.yaml:14: workers[1].command: must not be empty: give the program and its arguments",
            #"bulkhead.yaml:15: workers[2].name: "Worker" is not a valid worker name (lower-case letters, digits, _ and -, starting with a letter or digit)"#,
            "bulkhead.yaml:18: workers[2].rules[0].when: is empty: give exit_code, signal, stderr, runtime, kind or message",
        ])
        #expect(errors.map(\.line) == errors.map(\.line).sorted())
    }

    @Test func loadThrowsThemAllWithOneLineEach() {
        let yaml = oneWorker("    instances: -1", "    restart: sometimes")
        #expect {
            try load(yaml)
        } throws: { error in
            (error as? ConfigErrors)?.description == """
                bulkhead.yaml:4: workers[0].instances: must be at least 1 (got -1)
                bulkhead.yaml:5: workers[0].restart: "sometimes" is not one of always, on-failure, never
                """
        }
    }
}
