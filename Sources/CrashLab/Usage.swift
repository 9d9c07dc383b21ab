/// `crashlab --help`.
enum Usage {
    static var text: String {
        let width = DeathKind.catalogue.map(\.name.count).max() ?? 0
        func row(_ name: String, _ text: String) -> String {
            "    " + name + String(repeating: " ", count: width - name.count + 2) + text
        }
        let continuation = "\n" + String(repeating: " ", count: width + 6)
        let kinds = DeathKind.catalogue.map { row($0.name, $0.predicted) }
            + [row("signal-NAME", signalKind.joined(separator: continuation))]
        return header + kinds.joined(separator: "\n") + "\n\n" + footer
    }

    private static let signalKind = [
        "raise NAME on itself with the default disposition restored and the",
        "signal unblocked (signal-BUS, signal-SEGV, signal-KILL, signal-TERM,",
        "signal-7, …): it dies by that signal, no backtrace",
    ]

    private static let header = """
        crashlab: a test worker for bulkhead whose flags choose how it misbehaves.

        usage: crashlab [FLAGS]      (every --flag VALUE may also be written --flag=VALUE)

        DURATION is a number with a unit: ns us ms s m h (250ms, 1.5s, 2m); 0 needs none.
        SIZE is a number with an optional unit: B KiB MiB GiB TiB KB MB GB TB (64MiB).

        How it ends (at most one; without one it runs until killed, idle in pause()):
          --die KIND            die in exactly one way (KIND below), after --after
          --exit CODE           exit(CODE) (0-255), after --after
          --hang                deadlock the main thread (no CPU); watchdog pings stop too
          --after DURATION      delay for --die/--exit/--hang, from process start (default 0)
          --run-for DURATION    exit 0 once DURATION has passed since start
          --message TEXT        the message of --die fatal-error, precondition, assert and
                                trap-in-* (each has a crashlab: … default)

        Stop signals (at most one; each covers SIGTERM and SIGINT):
          --ignore-term         set them to SIG_IGN
          --term-exit CODE      on one, exit with CODE (taken by a sigwait thread, not a handler)
          --slow-stop DURATION  on one, wait DURATION, then exit 0
          --ignore-pipe         set SIGPIPE to SIG_IGN (a write nobody reads fails with EPIPE,
                                as servers do: it outlives a gap with no bulkhead reading)

        Processes:
          --grandchild          spawn /bin/sleep 1000 in crashlab's own process group
          --grandchild-setsid   spawn /bin/sleep 1000 in a new session (escapes the group)
                                each prints 'crashlab: grandchild PID' on stdout; the grandchild
                        keeps crashlab's stdin/stdout/stderr open (as a real leftover would)

        Output (all unbuffered, written before any ending):
          --print TEXT          one line on stdout (repeatable, kept in order with --eprint)
          --eprint TEXT         one line on stderr
          --flood N             N lines 'flood I/N ....' (I from 1, zero-padded), as fast as possible
          --line-bytes B        length of each flood line incl. newline (default 64; longer if
                                the counter does not fit)
          --stream S            stdout (default) or stderr, for --flood
          --flood-pause-at I    stop itself (SIGSTOP) with half of line I written; the rest
                                follows on SIGCONT
          --priority-prefix P   P = 0..7: every --print/--eprint/flood line starts with <P>;
                                P = cycle: flood line I starts with <I mod 8>, others have none

        sd_notify (no-ops without $NOTIFY_SOCKET; a path or an abstract @name):
          --notify-ready [DELAY]  send READY=1, DELAY after start (default 0)
          --status TEXT           send STATUS=TEXT at start
          --watchdog              send WATCHDOG=1 every $WATCHDOG_USEC/2 from a thread
                                  (not when $WATCHDOG_PID names another process)
          --stop-pinging-after DURATION  stop the pings DURATION after start (a hang to catch)

        Breadcrumbs (no-op without $BULKHEAD_BREADCRUMBS_FD):
          --breadcrumb TEXT     write an entry into the ring at start (repeatable). Whenever the
                                ring is there, its dying time is stamped just before every
                                deliberate exit, raise or trap.

        Memory:
          --allocate SIZE       allocate and touch SIZE at start; prints 'crashlab: allocated N bytes'
          --allocate-forever STEP  allocate and touch STEP after STEP from a thread until killed

        Diagnostics:
          --print-env           on stdout, before anything else: NOTIFY_SOCKET, WATCHDOG_USEC,
                                WATCHDOG_PID, SWIFT_BACKTRACE, BULKHEAD_*, the open fds
                                ('fd N TARGET', then 'fds 0 1 2 …'), SigBlk/SigIgn/SigCgt from
                                /proc/self/status with names, 'ids pid= ppid= pgid= sid= uid= gid=',
                                'rlimit NAME SOFT HARD' and 'cgroup LINE'
          --print-dying-time    just before every deliberate exit, raise or trap, 'crashlab: dying
                                at NS' on stdout (CLOCK_REALTIME ns; for bulkhead-bench forensics)
          --list-kinds          the --die KIND names below, one a line (signal-NAME aside)
          -h, --help            this text

        Order: --print-env; stop signals; breadcrumbs; --print/--eprint; grandchildren;
        --allocate; STATUS=; watchdog and --allocate-forever threads; --flood; then READY=1
        and the ending, each at its time.

        KIND (with the death measured on x86_64, debug and release, backtracer on or off):

        """

    private static let footer = """
        Exit codes: 0 ok, 1 the system refused something crashlab needed, 2 bad command line,
        99 a --die KIND did not end the process (assert in release; signal-CHLD; …).

        """
}
