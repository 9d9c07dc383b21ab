import BulkheadConfig
import BulkheadPolicy
import BulkheadSystem
import Glibc
import Supervisor

/// `bulkhead init`: bulkhead as a container's PID 1 (Daemon+Init.swift has the daemon's side).
enum InitEntry {
    /// Exit code when the command cannot be found or run, as shells and container runtimes use.
    static let commandNotFound: Int32 = 127

    static func run(_ arguments: InitArguments) -> Int32 {
        if let config = arguments.config {
            return DaemonEntry.runDaemon(config: config, socket: arguments.socket, timestamps: arguments.timestamps,
                                         logFormat: arguments.logFormat ?? .text)
        }
        if let failure = DaemonEntry.blockHandledSignals() { return failure }
        let environment = passedEnvironment()
        let path = environment.first { $0.key == "PATH" }?.value
        let cwd = currentDirectory()
        guard let program = ConfigLoader.resolveExecutable(arguments.command[0], path: path, cwd: cwd) else {
            FileDescriptor.standardError.writeLine("bulkhead: \(arguments.command[0]): no such program (looked in PATH=\(path ?? defaultExecutableSearchPath))")
            return commandNotFound
        }
        let worker = WorkerSpec(
            name: workerName(arguments.command[0]), command: [program] + arguments.command.dropFirst(),
            env: environment, cwd: cwd, restart: .never, stop: StopPolicy(timeout: arguments.stopTimeout)
        )
        var config = SupervisorConfig(control: ControlConfig(socket: arguments.socket),
                                      stateDir: arguments.stateDir ?? "/var/lib/bulkhead", workers: [worker])
        config.output.journal = .off
        let daemon: Daemon
        do {
            daemon = try Daemon(
                options: Daemon.Options(configPath: "", socketPath: arguments.socket, timestamps: arguments.timestamps,
                                        logFormat: arguments.logFormat ?? .plain, exitsWithWorker: true),
                config: config
            )
        } catch {
            return DaemonEntry.fail("cannot start: \(error) (a read-only file system? point --state-dir and --socket at a writable place)")
        }
        return daemon.run()
    }

    /// The command runs with the container's environment, as under tini or docker itself, less
    /// what belongs to whoever started bulkhead (bulkhead sets its own NOTIFY_SOCKET and such).
    static func passedEnvironment() -> [EnvironmentEntry] {
        var entries: [EnvironmentEntry] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            cursor += 1
            guard let equals = text.firstIndex(of: "=") else { continue }
            let key = String(text[..<equals])
            if ownedKeys.contains(key) || key.hasPrefix("BULKHEAD_") || key.hasPrefix("LISTEN_") { continue }
            entries.append(EnvironmentEntry(key, String(text[text.index(after: equals)...])))
        }
        return entries
    }

    static let ownedKeys: Set<String> = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "INVOCATION_ID"]

    /// The worker's name in `bulkhead status`: the program's base name in the names the config
    /// allows (`[a-z0-9][a-z0-9_-]*`), `main` when nothing of it is left.
    static func workerName(_ command: String) -> String {
        let base = command.split(separator: "/").last.map(String.init) ?? command
        let mapped = base.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "-" }
        let name = String(mapped.drop { !($0.isLetter || $0.isNumber) })
        return name.isEmpty ? "main" : String(name.prefix(64))
    }

    static func currentDirectory() -> String? {
        guard let raw = getcwd(nil, 0) else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }
}
