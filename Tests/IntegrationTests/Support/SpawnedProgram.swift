import BulkheadSystem
import Foundation
import Glibc

/// A program the tests start with bulkhead's own spawner instead of Foundation's `Process`, for
/// the daemons and the CLI, which every test runs.
///
/// Foundation's `Process` on Linux learns that a child ended when a socket it gave the child
/// closes. The child's end is inheritable while `run()` sets it up, so a process another test
/// thread starts at that moment inherits it too, and holds it for as long as it lives: a daemon
/// did, for minutes, and the test waiting for a CLI call to end waited with it, on one of the
/// two threads of the test pool, until nothing else could run (a whole parallel pass hung).
/// Here the child gets fds 0–2 and nothing else (the spawner closes the rest, signals are reset),
/// and its end is seen through its pidfd.
final class SpawnedProgram: @unchecked Sendable {
    let pid: Int32
    private let lock = NSLock()
    private var pidfd: FileDescriptor?
    private var status: Int32?
    private var signaled = false

    /// `arguments[0]` is the program's path. The caller keeps (and closes) the fds it passes.
    init(_ arguments: [String], environment: [String: String], input: FileDescriptor, output: FileDescriptor, error: FileDescriptor) throws {
        let request = SpawnRequest(executable: arguments[0], arguments: arguments,
                                   environment: environment.map { "\($0.key)=\($0.value)" },
                                   standardInput: input, standardOutput: output, standardError: error)
        pid = try Spawner.spawn(request)
        pidfd = Reaper.pidfd(for: pid)
    }

    deinit {
        if exitStatus(waitingAtMost: 0) == nil {
            kill(pid, SIGKILL)
            _ = exitStatus(waitingAtMost: 10)
        }
        pidfd?.close()
    }

    var isRunning: Bool { exitStatus(waitingAtMost: 0) == nil }

    /// Its exit code, or the number of the signal that killed it (as Foundation's
    /// `terminationStatus`); nil while it still runs after `seconds`.
    func exitStatus(waitingAtMost seconds: Double) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        guard let pidfd else { return nil }
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let exit = Reaper.reap(pidfd: pidfd) {
                status = exit.code
                signaled = !exit.exited
                return exit.code
            }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            _ = pidfd.waitReadable(milliseconds: Int32(min(left, 0.1) * 1000) + 1)
        }
    }

    /// How it ended, in words ("exited with code 0", "killed by signal 9"), or that it still
    /// runs after `seconds`: for messages about a daemon that went away.
    func endDescription(waitingAtMost seconds: Double) -> String {
        guard let status = exitStatus(waitingAtMost: seconds) else { return "still running" }
        lock.lock()
        defer { lock.unlock() }
        return signaled ? "killed by signal \(status)" : "exited with code \(status)"
    }

    /// Waits for its end however long it takes.
    @discardableResult
    func waitUntilExit() -> Int32 {
        while true {
            if let status = exitStatus(waitingAtMost: 60) { return status }
        }
    }

    /// A pipe whose read end is for this process (a FileHandle that closes it) and whose write
    /// end goes to the child; close `childEnd` once the child is started.
    static func pipe() throws -> (handle: FileHandle, childEnd: FileDescriptor) {
        let pipe = try BulkheadSystem.Pipe()
        try pipe.readEnd.setNonBlocking(false)   // FileHandle reads block
        return (FileHandle(fileDescriptor: pipe.readEnd.rawValue, closeOnDealloc: true), pipe.writeEnd)
    }

    static let devNull: FileDescriptor = {
        (try? FileDescriptor.open("/dev/null", O_RDWR)) ?? FileDescriptor(rawValue: -1)
    }()
}
