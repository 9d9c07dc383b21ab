import Foundation
import Glibc
import Testing

@Suite("Smoke")
struct SmokeTests {
    @Test("a shell worker that dies by SIGSEGV is classified crash, reported and restarted")
    func segvShellWorker() throws {
        let daemon = try DaemonHarness("""
        defaults:
          backoff: { initial: 50ms, max: 200ms }
          crash_loop: { same_crash: 0 }
        workers:
          - name: segv
            command: [/bin/sh, -c, "echo up; sleep 0.1; kill -SEGV $$"]
        """)
        try daemon.start()
        let exit = try daemon.waitForEvent("segv:0", "exit", containing: ["SIGSEGV", "crash"])
        let id = try #require(DaemonHarness.crashID(in: exit))
        let report = try #require(daemon.crashReport(id: id))
        #expect(report["class"] as? String == "crash")
        #expect(report["signal"] as? String == "SEGV")
        #expect(report["instance"] as? String == "segv:0")
        try daemon.waitForEvent("segv:0", "spawn", after: daemon.output.firstIndex(of: exit) ?? 0)
        #expect(try daemon.stop() == 0)
    }

    @Test("`bulkhead daemon` becomes bulkhead-daemon in the same process: same pid, workers its children")
    func daemonExecKeepsThePid() throws {
        let daemon = try DaemonHarness("""
        workers:
          - name: idle
            command: [/bin/sleep, "1000"]
        """)
        try daemon.start()
        let pid = daemon.daemonPID
        let (document, instances) = try daemon.statusJSON()
        #expect((document["daemon"] as? [String: Any])?["pid"] as? Int == Int(pid), "status names the pid the CLI started as")
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
        #expect(executable.hasSuffix("/bulkhead-daemon"), "the process runs \(executable)")
        let worker = try #require(instances["idle:0"]?["pid"] as? Int)
        #expect(Processes.stat(Int32(worker))?.parentPID == pid)
        // The loop thread runs 5 above the workers; the workers at the nice bulkhead started with.
        errno = 0
        let mine = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        if getuid() == 0, mine > -20 {
            #expect(Processes.stat(pid)?.nice == max(mine - 5, -20), "the daemon's loop thread")
        }
        #expect(Processes.stat(Int32(worker))?.nice == mine, "a worker")
        #expect(try daemon.stop() == 0)
    }

    @Test("check-config runs through bulkhead-daemon: a valid file is described, an invalid one listed with lines")
    func checkConfigThroughTheDaemonProgram() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bh-check-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.yaml").path
        let bad = directory.appendingPathComponent("bad.yaml").path
        try "workers:\n  - name: a\n    command: [/bin/true]\n    instances: 2\n".write(toFile: good, atomically: true, encoding: .utf8)
        try "workers:\n  - name: a\n    command: [/bin/true]\n    restart: sometimes\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let valid = try Products.run("bulkhead", ["check-config", good])
        #expect(valid.code == 0)
        // What it needs of the fd limit too (the limit is the machine's).
        #expect(valid.stdout.hasPrefix("\(good): valid (1 worker, 2 instances, ~70 of "), "\(valid.stdout)")
        let invalid = try Products.run("bulkhead", ["check-config", bad])
        #expect(invalid.code == 1)
        #expect(invalid.stderr.contains("bad.yaml:4: workers[0].restart"), "\(invalid.stderr)")
    }

    @Test("a bulkhead without bulkhead-daemon next to it says what to install, exit 1")
    func missingDaemonProgram() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bh-lonely-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let lonely = directory.appendingPathComponent("bulkhead").path
        try FileManager.default.copyItem(atPath: Products.path("bulkhead"), toPath: lonely)
        try FileManager.default.copyItem(atPath: Products.path("bulkhead-cli"), toPath: directory.appendingPathComponent("bulkhead-cli").path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: lonely)
        p.arguments = ["check-config", "/nonexistent.yaml"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        // A file just written may be held open for writing a moment longer by a child another
        // test thread forked meanwhile (it closes at that child's exec): ETXTBSY, retried.
        var attempts = 0
        while true {
            do {
                try p.run()
                break
            } catch let error as NSError where (error.userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(ETXTBSY) && attempts < 100 {
                attempts += 1
                usleep(20_000)
            }
        }
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect(message.contains("cannot run \(directory.path)/bulkhead-daemon"), "\(message)")
        #expect(message.contains("install bulkhead-daemon next to bulkhead"), "\(message)")
    }
}
