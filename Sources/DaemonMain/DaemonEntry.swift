import BulkheadConfig
import Supervisor
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// What `bulkhead daemon` and `bulkhead check-config` do once exec'd here.
enum DaemonEntry {
    /// `1 worker`, `2 workers`.
    static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    /// Runs the supervisor in the foreground; returns the process exit code.
    static func runDaemon(config path: String, socket: String?, timestamps: Bool, keepsState: Bool = true,
                          logFormat: LogFormat? = nil) -> Int32 {
        if let failure = blockHandledSignals() { return failure }
        if let handoff = ReexecHandoff.take() {
            return runAfterReexec(handoff)
        }
        let loaded: SupervisorConfig
        let warnings: [ConfigError]
        let text: String
        do {
            text = try ConfigLoader.text(path: path)
            (loaded, warnings) = try ConfigLoader.loadWithWarnings(yaml: text, file: path, options: .daemonStart)
        } catch {
            return fail("\(error)\nfix the config and start again (check it with `bulkhead check-config \(path)`).")
        }
        DescriptorLimit.raise()
        if let refusal = DescriptorLimit.refusal(loaded) { return fail(refusal) }
        let journalStamps = getenv("JOURNAL_STREAM") != nil
        let daemon: Daemon
        do {
            daemon = try Daemon(
                options: Daemon.Options(configPath: path, socketPath: socket ?? getenv("BULKHEAD_SOCKET").map { String(cString: $0) },
                                        timestamps: timestamps && !journalStamps, keepsState: keepsState, logFormat: logFormat),
                config: loaded,
                configText: text,
                startWarnings: warnings.map { "\($0): that worker fails when started (the others run); fix it and `bulkhead reload`" }
            )
        } catch {
            return fail("cannot start: \(error)")
        }
        return daemon.run()
    }

    /// This process was started by a re-exec: the daemon takes over from the handoff. One that
    /// cannot (a handoff or config this version does not read) goes back to the previous binary,
    /// which answers the caller with why.
    static func runAfterReexec(_ taken: Result<ReexecHandoff, HandoffError>) -> Int32 {
        let handoff: ReexecHandoff
        switch taken {
        case .success(let h): handoff = h
        case .failure(let error): return fail("re-exec: \(error); no previous binary to go back to")
        }
        let daemon: Daemon
        do throws(HandoffError) {
            try handoff.validate()
            guard let options = handoff.options, let text = handoff.configText else { throw HandoffError("no options") }
            let config: SupervisorConfig
            do {
                config = try ConfigLoader.loadWithWarnings(yaml: text, file: options.configPath, options: .daemonStart).config
            } catch {
                throw HandoffError("the running config is refused by this version: \(error)")
            }
            do {
                daemon = try Daemon(restoring: handoff, options: options, config: config, configText: text)
            } catch {
                throw HandoffError("\(error)")
            }
        } catch {
            handoff.rollBack(reason: error.reason)
            return fail("re-exec: \(error.reason), and the previous binary could not be run again")
        }
        return daemon.run()
    }

    /// Before anything else, and before any thread exists: the loop takes these signals from a
    /// signalfd, and a thread with SIGCHLD unblocked would eat it. nil, or the exit code.
    static func blockHandledSignals() -> Int32? {
        do {
            try SignalDescriptor.block(Daemon.handledSignals)
            return nil
        } catch {
            return fail("cannot block signals: \(error)")
        }
    }

    /// Validates only: every error at once, each with file, line and key.
    static func checkConfig(_ path: String) -> Int32 {
        do {
            let config = try ConfigLoader.load(path: path)
            let instances = config.workers.reduce(0) { $0 + $1.instances }
            // Against this process's limit, raised as the daemon raises its own: a unit's
            // LimitNOFILE= may differ from the shell's.
            DescriptorLimit.raise()
            if let refusal = DescriptorLimit.refusal(config) {
                FileDescriptor.standardError.writeLine("\(path): \(refusal)")
                return 1
            }
            if let warning = FileDescriptorBudget.journalStreamWarning(config) {
                FileDescriptor.standardError.writeLine("\(path): warning: \(warning)")
            }
            FileDescriptor.standardOutput.writeLine("\(path): valid (\(Self.count(config.workers.count, "worker")), \(Self.count(instances, "instance")), ~\(FileDescriptorBudget.needed(config)) of \(DescriptorLimit.current()) fds)")
            return 0
        } catch {
            FileDescriptor.standardError.writeLine("\(error)")
            return 1
        }
    }

    static func fail(_ message: String) -> Int32 {
        FileDescriptor.standardError.writeLine("bulkhead: \(message)")
        return 1
    }
}
