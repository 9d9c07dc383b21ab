import Foundation
import Testing

/// Issue 16: real crashing programs of every runtime on the machine, run under the daemon.
/// Each death is class `crash` by what was recognised (a panic exits 2, an uncaught exception 1:
/// by exit code alone they would be `transient`), with the runtime's own words as the headline,
/// and the same fingerprint when the program is rebuilt with its code moved. Python and C/C++
/// are required; Go, Rust, Java and Node.js are tested when installed, else skipped by name.
@Suite("Runtime crashes under the daemon")
struct RuntimeCrashProcessTests {
    struct Program: Sendable, CustomTestStringConvertible {
        /// In build-crash-programs' output: `go/nilpointer`.
        var path: String
        var rule: String
        var headline: String
        var environment: [String: String] = [:]
        var testDescription: String { path }
    }

    static let python: [Program] = [
        Program(path: "python/type_error.py", rule: "default: python uncaught exception",
                headline: "Python uncaught TypeError: the JSON object must be str, bytes or bytearray, not NoneType at parse_order (type_error.py:11)"),
        Program(path: "python/chained.py", rule: "default: python uncaught exception",
                headline: "Python uncaught ConfigError: cannot load /etc/orders-9f3a/settings.toml: no defaults at load (chained.py:26); "
                    + "root cause FileNotFoundError: [Errno 2] No such file or directory: '/etc/orders-9f3a/settings.toml'"),
    ]
    static let cAndCxx: [Program] = [
        Program(path: "cpp/uncaught_runtime_error", rule: "default: c++ uncaught exception",
                headline: "C++ uncaught std::runtime_error: ledger checksum mismatch: expected 24301 got 2989"),
        // glibc's messages say more about a death the signal classes already.
        Program(path: "c/double_free", rule: "default: signal ABRT", headline: "abort() called: free(): double free detected in tcache 2"),
        Program(path: "c/assert_fail", rule: "default: signal ABRT",
                headline: "C assertion failed: balance >= amount && \"overdraft\" at settle (assert_fail.c:9)"),
        Program(path: "c/use_after_free", rule: "default: c sanitizer: heap-use-after-free",
                headline: "C AddressSanitizer: heap-use-after-free on address 0x606000000020 (READ of size 2) at greeting_length (use_after_free.c:17)"),
    ]
    static let go: [Program] = [
        Program(path: "go/nilpointer", rule: "default: go panic",
                headline: "Go panic: runtime error: invalid memory address or nil pointer dereference at main.charge (main.go:14)"),
        Program(path: "go/mapwrites", rule: "default: go fatal error", headline: "Go fatal error: concurrent map writes at main.record (main.go:11)"),
    ]
    static let rust: [Program] = [
        Program(path: "rust/index_oob", rule: "default: rust panic", headline: "Rust panic: index out of bounds: the len is 3 but the index is 5 at index_oob.rs:7"),
        Program(path: "rust/unwrap_none", rule: "default: rust panic",
                headline: "Rust panic: called `Option::unwrap()` on a `None` value at unwrap_none::listen_port (unwrap_none.rs:8)",
                environment: ["RUST_BACKTRACE": "1"]),
    ]
    static let java: [Program] = [
        Program(path: "java/NullCharge", rule: "default: jvm uncaught exception",
                headline: "JVM uncaught java.lang.NullPointerException: Cannot read field \"balance\" because \"account\" is null at NullCharge.charge (NullCharge.java:16)"),
    ]
    static let node: [Program] = [
        Program(path: "node/type_error.js", rule: "default: node uncaught exception",
                headline: "Node.js uncaught TypeError: Cannot read properties of undefined (reading 'port') at listenPort (type_error.js:9)"),
        Program(path: "node/unhandled_rejection.js", rule: "default: node uncaught exception",
                headline: "Node.js uncaught Error: quote service refused ACME: 503 at fetchQuote (unhandled_rejection.js:10)"),
    ]

    @Test("Python and C/C++ (required)")
    func pythonAndC() async throws {
        try await Self.check(Self.python + Self.cAndCxx)
    }

    @Test("Go", .enabled(if: Toolchains.has("go"), "skipped: Go is not installed (apt-get install golang-go)"))
    func goPrograms() async throws {
        try await Self.check(Self.go)
    }

    @Test("Rust", .enabled(if: Toolchains.has("rustc"), "skipped: Rust is not installed (rustc)"))
    func rustPrograms() async throws {
        try await Self.check(Self.rust)
    }

    @Test("Java", .enabled(if: Toolchains.has("javac") && Toolchains.has("java"), "skipped: Java is not installed (apt-get install default-jdk-headless)"))
    func javaPrograms() async throws {
        try await Self.check(Self.java)
    }

    @Test("Node.js", .enabled(if: Toolchains.has("node"), "skipped: Node.js is not installed (apt-get install nodejs)"))
    func nodePrograms() async throws {
        try await Self.check(Self.node)
    }

    /// Runs each program as built and rebuilt, side by side under one daemon, each death once.
    static func check(_ programs: [Program]) async throws {
        let (plain, rebuilt) = try await CrashPrograms.shared.directories()
        func worker(_ index: Int, _ program: Program, _ directory: String, _ suffix: String) -> String {
            let env = program.environment.map { "\($0.key): \"\($0.value)\"" }.joined(separator: ", ")
            return """
              - name: p\(index)\(suffix)
                command: [\(directory)/\(program.path)]
                restart: never
            """ + (env.isEmpty ? "" : "\n    env: { \(env) }")
        }
        var workers: [String] = []
        for (index, program) in programs.enumerated() {
            try #require(FileManager.default.isExecutableFile(atPath: plain + "/" + program.path), "not built: \(program.path)")
            workers += [worker(index, program, plain, ""), worker(index, program, rebuilt, "r")]
        }
        try await withDaemon("workers:\n" + workers.joined(separator: "\n"), name: "runtimes-\(programs[0].path.prefix { $0 != "/" })") { daemon in
            for (index, program) in programs.enumerated() {
                let report = try daemon.report(for: try await daemon.next("p\(index):0", "exit", timeout: 120))
                let again = try daemon.report(for: try await daemon.next("p\(index)r:0", "exit", timeout: 120))
                #expect(report["class"] as? String == "crash", "\(program.path)")
                #expect(report["rule"] as? String == program.rule, "\(program.path)")
                #expect(report["headline"] as? String == program.headline, "\(program.path)")
                #expect(again["class"] as? String == "crash" && again["rule"] as? String == program.rule, "\(program.path) rebuilt")
                // The rebuilt program's line numbers moved; its fingerprint did not.
                #expect(again["fingerprint"] as? String == report["fingerprint"] as? String,
                        "\(program.path): \(report["fingerprint_basis"] ?? "") vs \(again["fingerprint_basis"] ?? "")")
                #expect((report["output_tail"] as? [[String: Any]])?.isEmpty == false, "\(program.path): output_tail")
            }
        }
    }
}
