import BulkheadConfig
import BulkheadPolicy
import Testing

@Suite("names, dependencies and cycles")
struct WorkerSetTests {
    /// Workers `a`, `b`, … each depending on the given names, one line each:
    /// worker i's mapping starts at line 2 + 3i and its depends_on is on line 4 + 3i.
    static func workers(_ dependencies: [(String, [String])]) -> String {
        "workers:\n" + dependencies.map { name, on in
            "  - name: \(name)\n    command: [/bin/true]\n    depends_on: [\(on.joined(separator: ", "))]\n"
        }.joined()
    }

    @Test func twoWorkerCycle() {
        #expect(problems(Self.workers([("a", ["b"]), ("b", ["a"])])) == [
            "bulkhead.yaml:4: workers[0].depends_on: dependency cycle: a → b → a",
        ])
    }

    @Test func longerCycleIsReportedAsAPath() {
        let yaml = Self.workers([("web", ["api"]), ("api", ["db"]), ("db", ["cache"]), ("cache", ["api"])])
        #expect(problems(yaml) == [
            "bulkhead.yaml:7: workers[1].depends_on: dependency cycle: api → db → cache → api",
        ])
    }

    @Test func separateCyclesAreAllReported() {
        let yaml = Self.workers([("a", ["b"]), ("b", ["a"]), ("c", ["d"]), ("d", ["c"]), ("e", ["a", "c"])])
        #expect(problems(yaml) == [
            "bulkhead.yaml:4: workers[0].depends_on: dependency cycle: a → b → a",
            "bulkhead.yaml:10: workers[2].depends_on: dependency cycle: c → d → c",
        ])
    }

    @Test func acyclicGraphLoads() throws {
        let config = try load(Self.workers([("db", []), ("api", ["db"]), ("web", ["api", "db"])]))
        #expect(config.workers.map(\.dependsOn) == [[], ["db"], ["api", "db"]])
        #expect(DependencyGraph(config.workers).startOrder() == ["db", "api", "web"])
    }

    @Test func duplicateNamesNameTheFirstLine() {
        let yaml = """
            workers:
              - name: api
                command: [/bin/true]
              - name: db
                command: [/bin/true]
              - name: api
                command: [/bin/true]
              - name: api
                command: [/bin/true]
            """
        #expect(problems(yaml) == [
            #"bulkhead.yaml:6: workers[2].name: duplicate worker name "api" (first defined at line 2)"#,
            #"bulkhead.yaml:8: workers[3].name: duplicate worker name "api" (first defined at line 2)"#,
        ])
    }

    @Test func selfDependencyIsNotAlsoACycle() {
        #expect(problems(Self.workers([("a", ["a"])])) == [
            #"bulkhead.yaml:4: workers[0].depends_on[0]: "a" cannot depend on itself"#,
        ])
    }

    @Test(arguments: ["a", "a1", "0", "api-v2", "queue_worker", "x-", String(repeating: "z", count: 64)])
    func validNames(_ name: String) throws {
        let config = try load("workers:\n  - name: \(name)\n    command: [/bin/true]\n")
        #expect(config.workers.map(\.name) == [name])
    }

    @Test(arguments: ["Api", "_a", "-a", "a.b", "a b", "a:0", "é", "\"\""])
    func invalidNames(_ name: String) {
        let errors = ConfigLoader.check(yaml: "workers:\n  - name: \(name)\n    command: [/bin/true]\n", file: testFile)
        #expect(errors.count == 1)
        #expect(errors.first?.line == 2)
        #expect(errors.first?.keyPath == "workers[0].name")
    }
}
