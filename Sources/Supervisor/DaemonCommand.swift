import ArgumentParser
import BulkheadConfig
import BulkheadDaemon
import BulkheadSystem
import Glibc

struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the supervisor in the foreground.",
        discussion: """
        Examples:
          bulkhead daemon --config /etc/bulkhead/bulkhead.yaml
          bulkhead daemon --config config/demo.yaml
        """
    )

    @Option(name: .long, help: "The config file.")
    var config: String = "/etc/bulkhead/bulkhead.yaml"

    @Option(name: .long, help: "The control socket (overrides control.socket).")
    var socket: String?

    @Flag(name: .long, help: "No time at the start of each output line.")
    var noTimestamps = false

    func run() throws {
        // Before anything else, and before any thread exists: the loop takes these signals from
        // a signalfd, and a thread with SIGCHLD unblocked would eat it.
        do {
            try SignalDescriptor.block(Daemon.handledSignals)
        } catch {
            throw fail("cannot block signals: \(error)")
        }
        let loaded: BulkheadPolicy.SupervisorConfig
        do {
            loaded = try ConfigLoader.load(path: config)
        } catch {
            throw fail("\(error)\nfix the config and start again (check it with `bulkhead check-config \(config)`).")
        }
        let journalStamps = getenv("JOURNAL_STREAM") != nil
        let daemon: Daemon
        do {
            daemon = try Daemon(
                options: Daemon.Options(configPath: config, socketPath: socket ?? getenv("BULKHEAD_SOCKET").map { String(cString: $0) },
                                        timestamps: !noTimestamps && !journalStamps),
                config: loaded
            )
        } catch {
            throw fail("cannot start: \(error)")
        }
        let code = daemon.run()
        if code != 0 { throw ExitCode(code) }
    }

    func fail(_ message: String) -> ExitCode {
        FileDescriptor.standardError.writeLine("bulkhead: \(message)")
        return ExitCode(1)
    }
}

import BulkheadPolicy

extension FileDescriptor {
    func writeLine(_ text: String) {
        try? writeAll(Array((text + "\n").utf8))
    }
}
