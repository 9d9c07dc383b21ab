import Testing
@testable import BulkheadForensics

/// What each real capture must be recognised as (Tests/Fixtures/runtimes, recorded on Debian 12
/// with go1.19.8, rustc 1.95.0 and Debian's rustc 1.63.0, Python 3.11.2, OpenJDK 17, Node.js
/// v20.20.2, GCC 12, glibc 2.36, Redis 7.0.15).
struct FixtureExpectation: Sendable, CustomStringConvertible {
    var name: String
    var runtime: Runtime
    var kind: String
    var type: String? = nil
    var message: String?
    var function: String?
    var file: String?
    var line: Int?
    var headline: String
    var isCrash: Bool = true
    var description: String { name }
}

let fixtureExpectations: [FixtureExpectation] = [
    // Go
    .init(name: "go-nil-pointer", runtime: .go, kind: "panic",
          message: "runtime error: invalid memory address or nil pointer dereference", function: "main.charge", file: "main.go", line: 14,
          headline: "Go panic: runtime error: invalid memory address or nil pointer dereference at main.charge (main.go:14)"),
    .init(name: "go-concurrent-map-writes", runtime: .go, kind: "fatal error", message: "concurrent map writes",
          function: "main.record", file: "main.go", line: 11,
          headline: "Go fatal error: concurrent map writes at main.record (main.go:11)"),
    .init(name: "go-repanic", runtime: .go, kind: "panic", message: "request 17 failed: quota exhausted for tenant 4711",
          function: "main.handle.func1", file: "main.go", line: 21,
          headline: "Go panic: request 17 failed: quota exhausted for tenant 4711 at main.handle.func1 (main.go:21)"),
    .init(name: "go-index-out-of-range", runtime: .go, kind: "panic", message: "runtime error: index out of range [5] with length 3",
          function: "main.pickShard", file: "main.go", line: 12,
          headline: "Go panic: runtime error: index out of range [5] with length 3 at main.pickShard (main.go:12)"),
    .init(name: "go-out-of-memory", runtime: .go, kind: "out of memory", message: "out of memory",
          function: "main.buildIndex", file: "main.go", line: 15,
          headline: "Go fatal error: out of memory at main.buildIndex (main.go:15)"),
    .init(name: "go-goroutines", runtime: .go, kind: "panic", message: "settlement left 40 transfers pending",
          function: "main.settle", file: "main.go", line: 21,
          headline: "Go panic: settlement left 40 transfers pending at main.settle (main.go:21)"),
    // Rust, today's format (with the thread id) and 1.63's quoted one, with and without RUST_BACKTRACE=1
    .init(name: "rust-index-oob", runtime: .rust, kind: "panic", message: "index out of bounds: the len is 3 but the index is 5",
          function: nil, file: "index_oob.rs", line: 7,
          headline: "Rust panic: index out of bounds: the len is 3 but the index is 5 at index_oob.rs:7"),
    .init(name: "rust-index-oob.backtrace", runtime: .rust, kind: "panic",
          message: "index out of bounds: the len is 3 but the index is 5", function: "index_oob::pick_shard", file: "index_oob.rs", line: 7,
          headline: "Rust panic: index out of bounds: the len is 3 but the index is 5 at index_oob::pick_shard (index_oob.rs:7)"),
    .init(name: "rust-index-oob.rustc-old", runtime: .rust, kind: "panic",
          message: "index out of bounds: the len is 3 but the index is 5", function: nil, file: "index_oob.rs", line: 7,
          headline: "Rust panic: index out of bounds: the len is 3 but the index is 5 at index_oob.rs:7"),
    .init(name: "rust-index-oob.rustc-old.backtrace", runtime: .rust, kind: "panic",
          message: "index out of bounds: the len is 3 but the index is 5", function: "index_oob::pick_shard", file: "index_oob.rs", line: 7,
          headline: "Rust panic: index out of bounds: the len is 3 but the index is 5 at index_oob::pick_shard (index_oob.rs:7)"),
    .init(name: "rust-unwrap-none", runtime: .rust, kind: "panic", message: "called `Option::unwrap()` on a `None` value",
          function: nil, file: "unwrap_none.rs", line: 8,
          headline: "Rust panic: called `Option::unwrap()` on a `None` value at unwrap_none.rs:8"),
    .init(name: "rust-unwrap-none.backtrace", runtime: .rust, kind: "panic", message: "called `Option::unwrap()` on a `None` value",
          function: "unwrap_none::listen_port", file: "unwrap_none.rs", line: 8,
          headline: "Rust panic: called `Option::unwrap()` on a `None` value at unwrap_none::listen_port (unwrap_none.rs:8)"),
    .init(name: "rust-unwrap-none.rustc-old.backtrace", runtime: .rust, kind: "panic",
          message: "called `Option::unwrap()` on a `None` value", function: "unwrap_none::listen_port", file: "unwrap_none.rs", line: 8,
          headline: "Rust panic: called `Option::unwrap()` on a `None` value at unwrap_none::listen_port (unwrap_none.rs:8)"),
    .init(name: "rust-explicit-panic", runtime: .rust, kind: "panic", message: "called `Result::unwrap()` on an `Err` value: Any { .. }",
          function: nil, file: "explicit_panic.rs", line: 19,
          headline: "Rust panic: called `Result::unwrap()` on an `Err` value: Any { .. } at explicit_panic.rs:19; "
              + "thread 'reconciler' panicked first: ledger out of balance: expected 1200 but found 1175"),
    .init(name: "rust-explicit-panic.backtrace", runtime: .rust, kind: "panic",
          message: "called `Result::unwrap()` on an `Err` value: Any { .. }", function: "explicit_panic::main", file: "explicit_panic.rs", line: 19,
          headline: "Rust panic: called `Result::unwrap()` on an `Err` value: Any { .. } at explicit_panic::main (explicit_panic.rs:19); "
              + "thread 'reconciler' panicked first: ledger out of balance: expected 1200 but found 1175"),
    .init(name: "rust-explicit-panic.rustc-old", runtime: .rust, kind: "panic",
          message: "called `Result::unwrap()` on an `Err` value: Any { .. }", function: nil, file: "explicit_panic.rs", line: 19,
          headline: "Rust panic: called `Result::unwrap()` on an `Err` value: Any { .. } at explicit_panic.rs:19; "
              + "thread 'reconciler' panicked first: ledger out of balance: expected 1200 but found 1175"),
    .init(name: "rust-explicit-panic.rustc-old.backtrace", runtime: .rust, kind: "panic",
          message: "called `Result::unwrap()` on an `Err` value: Any { .. }", function: "explicit_panic::main", file: "explicit_panic.rs", line: 19,
          headline: "Rust panic: called `Result::unwrap()` on an `Err` value: Any { .. } at explicit_panic::main (explicit_panic.rs:19); "
              + "thread 'reconciler' panicked first: ledger out of balance: expected 1200 but found 1175"),
    .init(name: "rust-stack-overflow", runtime: .rust, kind: "stack overflow", message: nil, function: nil, file: nil, line: nil,
          headline: "Rust stack overflow in thread 'main'"),
    // Python
    .init(name: "python-type-error", runtime: .python, kind: "uncaught exception", type: "TypeError",
          message: "the JSON object must be str, bytes or bytearray, not NoneType", function: "parse_order", file: "type_error.py", line: 11,
          headline: "Python uncaught TypeError: the JSON object must be str, bytes or bytearray, not NoneType at parse_order (type_error.py:11)"),
    .init(name: "python-chained", runtime: .python, kind: "uncaught exception", type: "ConfigError",
          message: "cannot load /etc/orders-9f3a/settings.toml: no defaults", function: "load", file: "chained.py", line: 26,
          headline: "Python uncaught ConfigError: cannot load /etc/orders-9f3a/settings.toml: no defaults at load (chained.py:26); "
              + "root cause FileNotFoundError: [Errno 2] No such file or directory: '/etc/orders-9f3a/settings.toml'"),
    .init(name: "python-syntax-error", runtime: .python, kind: "syntax error", type: "SyntaxError", message: "'(' was never closed",
          function: nil, file: "syntax_error.py", line: 9,
          headline: "Python SyntaxError: '(' was never closed at syntax_error.py:9"),
    .init(name: "python-fatal-segfault", runtime: .python, kind: "fatal error", message: "Segmentation fault",
          function: "read_header", file: "fatal_segfault.py", line: 11,
          headline: "Python fatal error: Segmentation fault at read_header (fatal_segfault.py:11)"),
    // JVM
    .init(name: "java-null-pointer", runtime: .jvm, kind: "uncaught exception", type: "java.lang.NullPointerException",
          message: "Cannot read field \"balance\" because \"account\" is null", function: "NullCharge.charge", file: "NullCharge.java", line: 16,
          headline: "JVM uncaught java.lang.NullPointerException: Cannot read field \"balance\" because \"account\" is null "
              + "at NullCharge.charge (NullCharge.java:16)"),
    .init(name: "java-caused-by", runtime: .jvm, kind: "uncaught exception", type: "CausedBy$StoreException", message: "cannot open store",
          function: "CausedBy.openStore", file: "CausedBy.java", line: 26,
          headline: "JVM uncaught CausedBy$StoreException: cannot open store at CausedBy.openStore (CausedBy.java:26); "
              + "root cause java.lang.NumberFormatException: For input string: \"80a\""),
    .init(name: "java-out-of-memory", runtime: .jvm, kind: "out of memory", type: "java.lang.OutOfMemoryError", message: "Java heap space",
          function: "HeapHog.remember", file: "HeapHog.java", line: 11,
          headline: "JVM uncaught java.lang.OutOfMemoryError: Java heap space at HeapHog.remember (HeapHog.java:11)"),
    // Node.js
    .init(name: "node-type-error", runtime: .node, kind: "uncaught exception", type: "TypeError",
          message: "Cannot read properties of undefined (reading 'port')", function: "listenPort", file: "type_error.js", line: 9,
          headline: "Node.js uncaught TypeError: Cannot read properties of undefined (reading 'port') at listenPort (type_error.js:9)"),
    .init(name: "node-unhandled-rejection", runtime: .node, kind: "uncaught exception", type: "Error",
          message: "quote service refused ACME: 503", function: "fetchQuote", file: "unhandled_rejection.js", line: 10,
          headline: "Node.js uncaught Error: quote service refused ACME: 503 at fetchQuote (unhandled_rejection.js:10)"),
    .init(name: "node-reject-string", runtime: .node, kind: "unhandled rejection", message: "connection to db-3.internal reset",
          function: nil, file: nil, line: nil,
          headline: "Node.js unhandled rejection: connection to db-3.internal reset"),
    .init(name: "node-heap-out-of-memory", runtime: .node, kind: "out of memory",
          message: "Reached heap limit Allocation failed - JavaScript heap out of memory", function: nil, file: nil, line: nil,
          headline: "Node.js fatal error: Reached heap limit Allocation failed - JavaScript heap out of memory"),
    // C++, C
    .init(name: "cpp-uncaught-runtime-error", runtime: .cpp, kind: "uncaught exception", type: "std::runtime_error",
          message: "ledger checksum mismatch: expected 24301 got 2989", function: nil, file: nil, line: nil,
          headline: "C++ uncaught std::runtime_error: ledger checksum mismatch: expected 24301 got 2989"),
    .init(name: "c-double-free", runtime: .c, kind: "abort", message: "free(): double free detected in tcache 2",
          function: nil, file: nil, line: nil,
          headline: "C abort (glibc): free(): double free detected in tcache 2", isCrash: false),
    .init(name: "c-assert-fail", runtime: .c, kind: "assertion failure", message: "balance >= amount && \"overdraft\"",
          function: "settle", file: "assert_fail.c", line: 9,
          headline: "C assertion failed: balance >= amount && \"overdraft\" at settle (assert_fail.c:9)", isCrash: false),
    .init(name: "c-asan-use-after-free", runtime: .c, kind: "sanitizer: heap-use-after-free",
          message: "heap-use-after-free on address 0x606000000020 (READ of size 2)", function: "greeting_length", file: "use_after_free.c", line: 17,
          headline: "C AddressSanitizer: heap-use-after-free on address 0x606000000020 (READ of size 2) "
              + "at greeting_length (use_after_free.c:17)"),
    .init(name: "c-ubsan-signed-overflow", runtime: .c, kind: "sanitizer: undefined behavior",
          message: "signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'", function: nil, file: "signed_overflow.c", line: 9,
          headline: "C UndefinedBehaviorSanitizer: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int' "
              + "at signed_overflow.c:9", isCrash: false),
    // A service that logs its crash to stdout
    .init(name: "redis-debug-segfault", runtime: .c, kind: "fatal signal", message: nil, function: "debugCommand", file: nil, line: nil,
          headline: "Redis 7.0.15 crashed by signal 11 (SIGSEGV) at debugCommand"),
    .init(name: "redis-debug-assert", runtime: .c, kind: "assertion failure", message: "1 == 2", function: "debugCommand",
          file: "debug.c", line: 530, headline: "Redis assertion failed: 1 == 2 at debugCommand (debug.c:530)"),
]

@Suite struct RuntimeFixtureTests {
    @Test(arguments: fixtureExpectations)
    func recognisesTheCapture(_ expected: FixtureExpectation) throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines(expected.name)))
        #expect(crash.runtime == expected.runtime)
        #expect(crash.kind == expected.kind)
        #expect(crash.exceptionType == expected.type)
        #expect(crash.message == expected.message)
        #expect(crash.site?.function == expected.function)
        #expect(crash.site?.file == expected.file)
        #expect(crash.site?.line == expected.line)
        #expect(crash.headline == expected.headline)
        #expect(crash.isCrash == expected.isCrash)
        #expect(crash.endsOutput)
        #expect(!crash.fingerprintBasis.joined().contains("/work/"), "no absolute paths in the fingerprint basis")
    }

    /// Every capture is in the table, so a newly recorded one cannot go unchecked.
    @Test func everyCaptureHasAnExpectation() {
        let names = Set(RuntimeFixtures.names().filter { !$0.hasSuffix(".rebuilt") })
        let covered = Set(fixtureExpectations.map(\.name))
        let unlisted = names.subtracting(covered).filter { !isVariantOfCovered($0, covered) }
        #expect(unlisted.isEmpty, "captures with no expectation: \(unlisted.sorted())")
        #expect(covered.isSubset(of: names), "expectations with no capture: \(covered.subtracting(names).sorted())")
    }

    /// `rust-unwrap-none.rustc-old` is checked through its `.backtrace` twin and the new format.
    func isVariantOfCovered(_ name: String, _ covered: Set<String>) -> Bool {
        covered.contains(name + ".backtrace")
    }

    /// A capture read one stream at a time (the daemon's stderr tail alone, say) gives the
    /// same answer as both streams interleaved: a block is read on the stream it was written on.
    @Test(arguments: fixtureExpectations)
    func eachStreamAloneGivesTheSameAnswer(_ expected: FixtureExpectation) throws {
        let both = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines(expected.name)))
        let alone = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.stream(expected.name, both.stream)))
        #expect(alone.headline == both.headline)
        #expect(alone.fingerprintBasis == both.fingerprintBasis)
        #expect(alone.frames == both.frames)
    }

    @Test func goNilPointerDetails() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("go-nil-pointer")))
        #expect(crash.signal == "SIGSEGV")
        #expect(crash.detail("fault_address") == "0x0")
        #expect(crash.thread == "goroutine 1")
        #expect(crash.frames.map(\.function) == ["main.charge", "main.main"])
        #expect(crash.stream == .stderr)
        #expect(crash.fingerprintBasis == ["runtime:go", "kind:panic",
                                           "message:runtime error: invalid memory address or nil pointer dereference",
                                           "signal:SIGSEGV", "site:main.charge in main.go"])
    }

    @Test func goRecoveredPanicIsACause() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("go-repanic")))
        #expect(crash.causes == ["quota exhausted for tenant 4711 (recovered)"])
        // The runtime's `panic(…)` frame sits between ours and is marked as the runtime's.
        #expect(crash.frames.map(\.isRuntime) == [false, true, false, false, false])
    }

    @Test func goFatalErrorKeepsOnlyTheCrashingGoroutine() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("go-concurrent-map-writes")))
        #expect(crash.thread == "goroutine 6")
        #expect(crash.frames.map(\.function) == ["main.record"])
    }

    @Test func goOutOfMemoryKeepsTheRuntimeLine() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("go-out-of-memory")))
        #expect(crash.detail("go_runtime")?.hasPrefix("out of memory: cannot allocate 67108864-byte block") == true)
        #expect(crash.frames.first?.function == "runtime.throw")
        #expect(crash.frames.first?.isRuntime == true)
    }

    @Test func pythonChainIsKeptNewestFirst() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("python-chained")))
        #expect(crash.causes == ["KeyError: 'defaults'",
                                 "FileNotFoundError: [Errno 2] No such file or directory: '/etc/orders-9f3a/settings.toml'"])
        #expect(crash.fingerprintBasis.contains("message:cannot load settings.toml: no defaults"))
    }

    @Test func pythonStandardLibraryFrameIsNotTheSite() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("python-type-error")))
        #expect(crash.frames.first?.function == "loads")
        #expect(crash.frames.first?.isRuntime == true)
        #expect(crash.frames.map(\.function) == ["loads", "parse_order", "handle", "<module>"])
    }

    @Test func jvmCausedByChain() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("java-caused-by")))
        #expect(crash.causes == ["java.lang.IllegalStateException: bad port in /etc/orders/store.conf",
                                 "java.lang.NumberFormatException: For input string: \"80a\""])
        #expect(crash.thread == "main")
    }

    @Test func nodeBannerAndFrames() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("node-type-error")))
        #expect(crash.detail("runtime_version") == "Node.js v20.20.2")
        #expect(crash.frames.prefix(4).map(\.isRuntime) == [false, false, false, true])
        let rejection = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("node-reject-string")))
        #expect(rejection.detail("code") == "ERR_UNHANDLED_REJECTION")
        #expect(rejection.frames.allSatisfy { $0.isRuntime })
    }

    @Test func asanKeepsTheAccessStackOnly() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines("c-asan-use-after-free")))
        #expect(crash.frames.map(\.function) == ["__interceptor_strlen", "greeting_length", "main", "__libc_start_call_main",
                                                 "__libc_start_main_impl", "_start"])
        #expect(crash.thread == "T0")
        #expect(crash.fingerprintBasis == ["runtime:c", "kind:sanitizer: heap-use-after-free",
                                           "message:heap-use-after-free on address # (READ of size #)",
                                           "site:greeting_length in use_after_free.c"])
    }

    @Test func redisReportOnStdout() throws {
        let lines = try RuntimeFixtures.lines("redis-debug-segfault")
        let crash = try #require(RuntimeCrashRecognizer.recognise(lines))
        #expect(crash.stream == .stdout)
        #expect(crash.signal == "SIGSEGV")
        #expect(crash.detail("runtime_version") == "Redis 7.0.15")
        #expect(crash.detail("fault_address")?.hasPrefix("0x") == true)
        #expect(crash.frames.first?.isRuntime == true)  // libc's signal trampoline
        #expect(crash.frames.dropFirst().first?.function == "debugCommand")
        #expect(lines[crash.lines.lowerBound].text.hasPrefix("=== REDIS BUG REPORT START"))
    }
}
