import Glibc

/// One crashlab run. The flags act in a fixed order:
///  1. `--print-env` (before anything below changes the fds or the signal mask)
///  2. breadcrumbs ring (`--breadcrumb` entries written), stop-signal behaviour
///  3. `--print` / `--eprint` lines, grandchildren, `--allocate`, `STATUS=`
///  4. threads: watchdog pings, `--allocate-forever`
///  5. `--flood`
///  6. timed: `READY=1` at start + DELAY, the ending at start + `--after` (or `--run-for`)
///  7. no ending: run until killed, blocked in pause(), using no CPU.
@MainActor
struct Lab {
    let options: Options
    let startNs: UInt64

    func run() async throws {
        if options.printEnvironment { EnvironmentReport.print() }

        // Set before any other thread exists, so every thread sees it without a lock.
        DyingStamp.ring = BreadcrumbRing.mapFromEnvironment()
        DyingStamp.printsWallTime = options.printDyingTime
        if let ring = DyingStamp.ring {
            options.breadcrumbs.forEach(ring.write)
        }
        // Before any thread starts (see StopSignals.install).
        StopSignals.install(options.stop)
        if options.ignorePipe { signal(SIGPIPE, SIG_IGN) }

        for line in options.lines {
            Lines.writeOne(line.text, to: line.stream, prefix: options.priorityPrefix)
        }
        options.grandchildren.forEach(Grandchild.spawn)
        if let bytes = options.allocateBytes { Memory.allocate(bytes) }

        let notifier = Notifier.fromEnvironment()
        if let status = options.status { notifier.send("STATUS=\(status)") }
        if options.watchdog {
            Watchdog.start(notifier: notifier, stopAt: pingsEnd)
        }
        if let step = options.allocateForeverStep {
            Threads.start("allocator") { Memory.allocateForever(step: step) }
        }
        if let flood = options.flood { Lines.flood(flood, prefix: options.priorityPrefix) }

        for event in timeline() {
            Clock.sleep(until: event.at)
            switch event.action {
            case .ready:
                notifier.send("READY=1")
            case .end(let ending):
                try await end(ending)
            }
        }
        Idle.forever()
    }

    private enum TimedAction {
        case ready
        case end(Ending)
    }

    /// The timed events in order; READY=1 first when both fall on the same instant.
    private func timeline() -> [(at: UInt64, action: TimedAction)] {
        var events: [(at: UInt64, action: TimedAction)] = []
        if let delay = options.readyDelayNs { events.append((startNs &+ delay, .ready)) }
        if let ending = options.ending { events.append((endingAt(ending), .end(ending))) }
        return events.enumerated()
            .sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
            .map(\.element)
    }

    private func endingAt(_ ending: Ending) -> UInt64 {
        if case .runFor(let duration) = ending { return startNs &+ duration }
        return startNs &+ options.afterNs
    }

    /// Watchdog pings stop at `--stop-pinging-after`, or when `--hang` hangs the process.
    private var pingsEnd: UInt64? {
        var ends: [UInt64] = []
        if let after = options.stopPingingAfterNs { ends.append(startNs &+ after) }
        if options.ending == .hang { ends.append(startNs &+ options.afterNs) }
        return ends.min()
    }

    private func end(_ ending: Ending) async throws {
        switch ending {
        case .die(let kind):
            try await Death.perform(kind, message: options.message)
            Output.note("--die \(kind.name) did not end the process; exiting with \(CrashLabExit.survived)")
            exit(CrashLabExit.survived)
        case .exit(let code):
            DyingStamp.now()
            exit(code)
        case .runFor:
            DyingStamp.now()
            exit(0)
        case .hang:
            Hang.forever()
        }
    }
}
