import Testing
@testable import BulkheadForensics

/// Formats not in the recorded fixtures. Where the text came from a real run on this machine
/// it says so; the rest is written from the runtime's source (file named) for versions or
/// C libraries not installed here.
@Suite struct OtherFormatTests {
    // MARK: Go

    /// Real, go1.19.8: a channel nobody sends on.
    @Test func goDeadlock() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            fatal error: all goroutines are asleep - deadlock!

            goroutine 1 [chan receive]:
            main.main()
            \t/tmp/extra/deadlock.go:5 +0x2c
            """)))
        #expect(crash.headline == "Go fatal error: all goroutines are asleep - deadlock! at main.main (deadlock.go:5)")
        #expect(crash.kind == "fatal error")
    }

    /// Real, go1.19.8: unbounded recursion; the runtime's own stack comes before the goroutine's.
    @Test func goStackOverflow() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            runtime: goroutine stack exceeds 1000000000-byte limit
            runtime: sp=0xc0200e0398 stack=[0xc0200e0000, 0xc0400e0000]
            fatal error: stack overflow

            runtime stack:
            runtime.throw({0x46581a?, 0x4bc880?})
            \t/usr/lib/go-1.19/src/runtime/panic.go:1047 +0x5d fp=0x7fff0a27d060 sp=0x7fff0a27d030 pc=0x42d93d
            runtime.newstack()
            \t/usr/lib/go-1.19/src/runtime/stack.go:1103 +0x5cc fp=0x7fff0a27d218 sp=0x7fff0a27d060 pc=0x444bec

            goroutine 1 [running]:
            main.walk(0x55554a?)
            \t/tmp/extra/overflow.go:3 +0x85 fp=0xc0200e03a8 sp=0xc0200e03a0 pc=0x457ce5
            main.walk(0x0?)
            \t/tmp/extra/overflow.go:6 +0x5d fp=0xc0200e0408 sp=0xc0200e03a8 pc=0x457cbd
            ...additional frames elided...
            """)))
        #expect(crash.kind == "stack overflow")
        #expect(crash.thread == "goroutine 1")
        #expect(crash.site == CrashSite(function: "main.walk", file: "overflow.go", line: 3))
        #expect(crash.detail("go_runtime")?.hasPrefix("goroutine stack exceeds 1000000000-byte limit; sp=") == true)
        #expect(crash.lines.lowerBound == 0)
    }

    /// Real, go1.19.8: a deferred call panics while the first panic unwinds (nothing recovered).
    @Test func goPanicWhilePanicking() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            panic: write failed: disk full
            \tpanic: cleanup failed: lock not held

            goroutine 1 [running]:
            main.cleanup()
            \t/tmp/extra/nested.go:4 +0x27
            panic({0x45c500, 0x47b8b0})
            \t/usr/lib/go-1.19/src/runtime/panic.go:884 +0x212
            main.main()
            \t/tmp/extra/nested.go:9 +0x49
            """)))
        #expect(crash.headline == "Go panic: cleanup failed: lock not held at main.cleanup (nested.go:4)")
        #expect(crash.causes == ["write failed: disk full (while panicking)"])
    }

    /// Go releases later than Debian's 1.19 (runtime/panic.go, printpanics/printpanicval): a
    /// re-panic with the recovered value is marked `[recovered, repanicked]`, and further lines
    /// of a multi-line value are indented by a tab.
    @Test func goNewerPanicMarks() throws {
        let repanicked = try #require(RuntimeCrashRecognizer.recognise(err(
            "panic: lost lease [recovered, repanicked]", "", "goroutine 1 [running]:", "main.renew()", "\t/app/lease.go:40 +0x6b")))
        #expect(repanicked.message == "lost lease")
        #expect(repanicked.causes.isEmpty)
        let multiLine = try #require(RuntimeCrashRecognizer.recognise(err(
            "panic: config invalid:", "\tport missing", "\thost missing", "", "goroutine 1 [running]:", "main.load()", "\t/app/config.go:9 +0x1d")))
        #expect(multiLine.message == "config invalid:\nport missing\nhost missing")
        #expect(multiLine.headline == "Go panic: config invalid: port missing host missing at main.load (config.go:9)")
    }

    /// runtime/signal_unix.go sigpanic → fatalsignal for a fault in C code called through cgo.
    @Test func goSignalInCgo() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            SIGSEGV: segmentation violation
            PC=0x7f3c2d4a1b20 m=0 sigcode=1 addr=0x0
            signal arrived during cgo execution

            goroutine 1 [syscall]:
            runtime.cgocall(0x4a1b20, 0xc000057f38)
            \t/usr/local/go/src/runtime/cgocall.go:157 +0x5c fp=0xc000057f10 sp=0xc000057ed8 pc=0x40a3dc
            main._Cfunc_decode(0x0)
            \t_cgo_gotypes.go:39 +0x45 fp=0xc000057f38 sp=0xc000057f10 pc=0x4a1a05
            main.main()
            \t/app/main.go:12 +0x1d fp=0xc000057f80 sp=0xc000057f38 pc=0x4a1a9d
            """)))
        #expect(crash.kind == "fatal signal")
        #expect(crash.signal == "SIGSEGV")
        #expect(crash.headline == "Go fatal signal: SIGSEGV: segmentation violation (signal arrived during cgo execution) "
            + "at main._Cfunc_decode (_cgo_gotypes.go:39)")
        #expect(crash.frames.first?.isRuntime == true)
    }

    @Test func goThirdPartyFrameGivesWayToOurs() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            panic: assignment to entry in nil map

            goroutine 7 [running]:
            github.com/acme/cache.(*Store).Put(...)
            \t/root/go/pkg/mod/github.com/acme/cache@v1.2.0/store.go:88
            example.com/orders/internal/api.(*Handler).Save(0xc0000a2000, {0x7a1b20, 0xc0000b4000})
            \t/src/orders/internal/api/handler.go:41 +0x1d4
            created by net/http.(*Server).Serve in goroutine 1
            \t/usr/local/go/src/net/http/server.go:3086 +0x4db
            """)))
        #expect(crash.site == CrashSite(function: "example.com/orders/internal/api.(*Handler).Save", file: "handler.go", line: 41))
        #expect(crash.frames.count == 2)
        #expect(crash.thread == "goroutine 7")
    }

    // MARK: Rust

    /// Real, rustc 1.95 and Debian's 1.63: `assert_eq!` with a message, new and old formats.
    @Test func rustMultiLineMessages() throws {
        let new = try #require(RuntimeCrashRecognizer.recognise(err(
            "thread 'main' (12154) panicked at multi.rs:3:5:", "assertion `left == right` failed: totals differ", "  left: 3",
            " right: 4", "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace")))
        #expect(new.message == "assertion `left == right` failed: totals differ\n  left: 3\n right: 4")
        #expect(new.headline == "Rust panic: assertion `left == right` failed: totals differ left: 3 right: 4 at multi.rs:3")
        let old = try #require(RuntimeCrashRecognizer.recognise(err(
            "thread 'main' panicked at 'assertion failed: `(left == right)`", "  left: `3`,", " right: `4`: totals differ', multi.rs:3:5",
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace")))
        #expect(old.message == "assertion failed: `(left == right)`\n  left: `3`,\n right: `4`: totals differ")
        #expect(old.site == CrashSite(file: "multi.rs", line: 3))
        #expect(old.lines == 0..<4)
    }

    /// Real, rustc 1.95 with RUST_BACKTRACE=full: addresses, symbol hashes, crate disambiguators.
    @Test func rustFullBacktrace() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(err(
            "thread 'main' (12154) panicked at multi.rs:3:5:", "boom", "stack backtrace:",
            "   0:     0x561d3adeb14a - std[e28293b1aa0f68bd]::backtrace_rs::backtrace::libunwind::trace",
            "                               at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/../../backtrace/src/backtrace/libunwind.rs:117:9",
            "  18:     0x5600dbb06a77 - multi::main::hf1c797308cc6b37c",
            "                               at ./multi.rs:3:5",
            "  19:     0x5600dbb069d3 - core::ops::function::FnOnce::call_once::h0370ad99e9d788e1")))
        #expect(crash.frames.map(\.function) == ["std::backtrace_rs::backtrace::libunwind::trace", "multi::main",
                                                 "core::ops::function::FnOnce::call_once"])
        #expect(crash.frames.map(\.isRuntime) == [true, false, true])
        #expect(crash.site == CrashSite(function: "multi::main", file: "multi.rs", line: 3))
    }

    @Test func rustPanicInsideACrateFromTheRegistry() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(err(
            "thread 'main' panicked at /root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/csv-1.3.0/src/reader.rs:120:9:",
            "record has 3 fields, expected 4", "stack backtrace:",
            "   0: rust_begin_unwind", "             at /rustc/abc/library/std/src/panicking.rs:652:5",
            "   1: csv::reader::Reader<R>::read_record",
            "             at /root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/csv-1.3.0/src/reader.rs:120:9",
            "   2: importer::load", "             at ./src/main.rs:27:13")))
        #expect(crash.site == CrashSite(function: "importer::load", file: "src/main.rs", line: 27))
        #expect(crash.frames.map(\.isRuntime) == [true, false, false])
    }

    // MARK: Python

    /// Real, Python 3.11: a module-qualified type, a message-less one, a `<string>` frame.
    @Test func pythonTypes() throws {
        let decode = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            Traceback (most recent call last):
              File "<string>", line 1, in <module>
              File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
                return _default_decoder.decode(s)
                       ^^^^^^^^^^^^^^^^^^^^^^^^^^
            json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
            """)))
        #expect(decode.exceptionType == "json.decoder.JSONDecodeError")
        #expect(decode.site == CrashSite(function: "<module>", file: "<string>", line: 1))
        let interrupt = try #require(RuntimeCrashRecognizer.recognise(err(
            "Traceback (most recent call last):", "  File \"/srv/app/main.py\", line 3, in <module>", "    time.sleep(60)",
            "KeyboardInterrupt")))
        #expect(interrupt.headline == "Python uncaught KeyboardInterrupt at <module> (main.py:3)")
        #expect(interrupt.message == nil)
    }

    @Test func pythonMemoryErrorAndLibraryFrames() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            Traceback (most recent call last):
              File "/srv/app/etl.py", line 20, in <module>
                frame = load(path)
              File "/srv/app/etl.py", line 11, in load
                return pandas.read_csv(path)
              File "/usr/lib/python3/dist-packages/pandas/io/parsers/readers.py", line 912, in read_csv
                return _read(filepath_or_buffer, kwds)
            MemoryError
            """)))
        #expect(crash.kind == "out of memory")
        #expect(crash.site == CrashSite(function: "load", file: "etl.py", line: 11))
        #expect(crash.frames.map(\.isRuntime) == [false, false, false])  // a library, not the runtime
    }

    /// Python/pythonrun.c: a SyntaxError in an imported module comes with a traceback.
    @Test func pythonSyntaxErrorOnImport() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            Traceback (most recent call last):
              File "/srv/app/main.py", line 1, in <module>
                import handlers
              File "/srv/app/handlers.py", line 14
                def on_message(msg)
                                   ^
            SyntaxError: expected ':'
            """)))
        #expect(crash.kind == "syntax error")
        #expect(crash.headline == "Python SyntaxError: expected ':' at handlers.py:14")
    }

    // MARK: JVM

    /// Kotlin on the JVM (kotlinc is not installed here): the same handler, Kotlin's types.
    @Test func kotlinAndOtherThreads() throws {
        let kotlin = try #require(RuntimeCrashRecognizer.recognise(err(
            "Exception in thread \"main\" kotlin.KotlinNullPointerException", "\tat MainKt.port(Main.kt:9)", "\tat MainKt.main(Main.kt:4)")))
        #expect(kotlin.headline == "JVM uncaught kotlin.KotlinNullPointerException at MainKt.port (Main.kt:9)")
        #expect(kotlin.message == nil)
        // A pool thread dies; the JVM goes on (other non-daemon threads), so no crash yet.
        let pool = try #require(RuntimeCrashRecognizer.recognise(err(
            "Exception in thread \"pool-1-thread-3\" java.lang.IllegalStateException: queue closed",
            "\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
            "\tat com.acme.Consumer.run(Consumer.java:31)", "\tat java.base/java.lang.Thread.run(Thread.java:833)",
            "2026-12-07 11:50:01 INFO consumer restarted")))
        #expect(pool.headline == "JVM uncaught java.lang.IllegalStateException in thread \"pool-1-thread-3\": queue closed "
            + "at com.acme.Consumer.run (Consumer.java:31)")
        #expect(!pool.isCrash)
    }

    @Test func jvmSuppressedAndHiddenFrames() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            Exception in thread "main" java.io.UncheckedIOException: close failed
            \tat com.acme.Store$$Lambda$14/0x0000000800c03000.run(Unknown Source)
            \tat com.acme.Store.close(Store.java:55)
            \tSuppressed: java.io.IOException: disk gone
            \t\tat com.acme.Disk.flush(Disk.java:12)
            \t\t... 1 more
            """)))
        #expect(crash.frames.map(\.function) == ["com.acme.Store$$Lambda$14/0x0000000800c03000.run", "com.acme.Store.close"])
        #expect(crash.site?.function == "com.acme.Store$$Lambda$14/0x0000000800c03000.run")
        #expect(crash.fingerprintBasis.last == "site:com.acme.Store$$Lambda$14/0x0000000800c03000.run")
    }

    // MARK: Node.js

    /// Real, Node.js v20: `throw "boom"` (not an Error).
    @Test func nodeThrownString() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            /tmp/extra/throw.js:1
            function f() { throw "boom"; }
                           ^
            boom
            (Use `node --trace-uncaught ...` to show where the exception was thrown)

            Node.js v20.20.2
            """)))
        #expect(crash.headline == "Node.js uncaught exception: boom at throw.js:1")
        #expect(crash.detail("runtime_version") == "Node.js v20.20.2")
        #expect(crash.isCrash)
    }

    @Test func nodeErrorWithCodeAndLibraryFrame() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            node:internal/modules/esm/resolve:854
              throw new ERR_MODULE_NOT_FOUND(packageName, fileURLToPath(base), null);
                    ^

            Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'pg' imported from /srv/app/db.mjs
                at packageResolve (node:internal/modules/esm/resolve:854:9)
                at async connect (file:///srv/app/node_modules/knex/lib/client.mjs:40:3)
                at async main (file:///srv/app/main.mjs:7:3) {
              code: 'ERR_MODULE_NOT_FOUND'
            }

            Node.js v20.20.2
            """)))
        #expect(crash.exceptionType == "Error")
        #expect(crash.detail("code") == "ERR_MODULE_NOT_FOUND")
        #expect(crash.site == CrashSite(function: "main", file: "main.mjs", line: 7))
        #expect(crash.frames.map(\.isRuntime) == [true, false, false])
    }

    @Test func nodeUncaughtPrefix() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(err(
            "Uncaught TypeError: Cannot read properties of null (reading 'id')", "    at handler (/srv/app/index.js:12:20)")))
        #expect(crash.headline == "Node.js uncaught TypeError: Cannot read properties of null (reading 'id') at handler (index.js:12)")
    }

    // MARK: C and C++

    /// libc++abi (Clang's C++ library) instead of libstdc++.
    @Test func libcxxTerminate() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(err(
            "libc++abi: terminating due to uncaught exception of type std::out_of_range: vector")))
        #expect(crash.headline == "C++ uncaught std::out_of_range: vector")
        let bare = try #require(RuntimeCrashRecognizer.recognise(err("terminate called without an active exception")))
        #expect(bare.kind == "terminate")
        #expect(bare.headline == "C++ terminate: without an active exception")
    }

    /// musl's assert (src/exit/assert.c) and older glibc's heap message with a backtrace.
    @Test func muslAssertAndOldGlibc() throws {
        let musl = try #require(RuntimeCrashRecognizer.recognise(err("Assertion failed: len <= cap (buffer.c: grow: 88)")))
        #expect(musl.headline == "C assertion failed: len <= cap at grow (buffer.c:88)")
        let old = try #require(RuntimeCrashRecognizer.recognise(err(
            "*** Error in `./sessions': double free or corruption (fasttop): 0x0000000001d4a010 ***")))
        #expect(old.message == "double free or corruption (fasttop): 0x0000000001d4a010")
        #expect(old.fingerprintBasis.contains("message:double free or corruption (fasttop): #"))
        for line in ["malloc(): corrupted top size", "double free or corruption (out)", "munmap_chunk(): invalid pointer",
                     "corrupted size vs. prev_size", "Fatal glibc error: malloc assertion failure in sysmalloc: (old_top == initial_top (av))"] {
            let crash = RuntimeCrashRecognizer.recognise(err("sessions: expiring", line))
            #expect(crash?.headline == "C abort (glibc): " + line)
            #expect(crash?.isCrash == false)
        }
        let smashing = try #require(RuntimeCrashRecognizer.recognise(err("*** stack smashing detected ***: terminated")))
        #expect(smashing.kind == "stack smashing")
        let cxxAssert = try #require(RuntimeCrashRecognizer.recognise(err(
            "/opt/app/bin/ledger: src/ledger.cpp:210: void Ledger::post(const Entry&): Assertion `entry.amount != 0' failed.")))
        #expect(cxxAssert.runtime == .cpp)
        #expect(cxxAssert.site == CrashSite(function: "void Ledger::post(const Entry&)", file: "src/ledger.cpp", line: 210))
    }

    /// AddressSanitizer's report of a signal (asan_errors.cpp ReportDeadlySignal).
    @Test func asanSegv() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            AddressSanitizer:DEADLYSIGNAL
            =================================================================
            ==4242==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000000 (pc 0x55d0c0a1b2c3 bp 0x7ffc0 sp 0x7ffb0 T0)
            ==4242==The signal is caused by a READ memory access.
            ==4242==Hint: address points to the zero page.
                #0 0x55d0c0a1b2c3 in Parser::next() /src/parser.cc:41
                #1 0x55d0c0a1b400 in main /src/main.cc:9
                #2 0x7f0a1b2c3d0a in __libc_start_main (/lib/x86_64-linux-gnu/libc.so.6+0x2724a)

            AddressSanitizer can not provide additional info.
            SUMMARY: AddressSanitizer: SEGV /src/parser.cc:41 in Parser::next()
            ==4242==ABORTING
            """)))
        #expect(crash.runtime == .cpp)
        #expect(crash.kind == "sanitizer: SEGV")
        #expect(crash.headline == "C++ AddressSanitizer: SEGV on unknown address 0x000000000000 (READ memory access) at Parser::next() (parser.cc:41)")
        #expect(crash.lines == 1..<12)
    }

    // MARK: Redis

    /// An older Redis (6.x) names itself the same way; a report with no stack still says why.
    @Test func redisWithoutAStack() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(out(
            "=== REDIS BUG REPORT START: Cut & paste starting from here ===",
            "1:M 07 Dec 2026 11:49:27.182 # Redis 6.0.16 crashed by signal: 7, si_code: 2",
            "=== REDIS BUG REPORT END. Make sure to include from START to END. ===")))
        #expect(crash.headline == "Redis 6.0.16 crashed by signal 7 (SIGBUS)")
        #expect(crash.signal == "SIGBUS")
    }
}
