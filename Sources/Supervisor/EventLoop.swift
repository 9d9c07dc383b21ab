import BulkheadPolicy
import BulkheadSystem

/// The one place the daemon waits: one epoll over every fd it watches, each registration a
/// typed `Source` so a ready fd is routed to the part that owns it. Level-triggered: what a turn
/// leaves unhandled (its budget spent) is reported again on the next.
final class EventLoop {
    /// What a registration is, and whose it is.
    enum Source: Equatable {
        case signals
        case exitTimes
        /// The crash report writer finished reports (an eventfd it signals).
        case reportsWritten
        case output(InstanceID, OutputStream)
        /// The one sd_notify socket of every instance.
        case notify
        case process(InstanceID)
        case controlListener
        case controlClient(Int)
        /// A hook run's process (pidfd), stdin (writable) or output (readable).
        case hook(Int, HookChannel)
        /// The hook launcher's thread started hook runs (an eventfd it signals).
        case hooksLaunched
        /// The metrics server's thread wants a snapshot (an eventfd it signals).
        case metricsRequest
        /// A health check's socket or exec process (`HealthProber`'s number).
        case probe(Int)
        /// `/dev/kmsg` has records (the kernel's fault lines about workers).
        case kernelLog
        /// The re-exec's check of the new binary (`--version`) exited.
        case reexecCheck

        /// Lower goes first in a turn: signals (SIGTERM, SIGCHLD), then the operator (control),
        /// then everything the workers cause.
        var priority: Int {
            switch self {
            case .signals: return 0
            case .controlListener, .controlClient: return 1
            case .exitTimes, .reportsWritten, .output, .notify, .process, .probe, .kernelLog, .reexecCheck: return 2
            // What tells people: after everything the workers cause.
            case .hook, .hooksLaunched, .metricsRequest: return 3
            }
        }
    }

    private var epoll: Epoll
    private var sources: [UInt64: Source] = [:]
    private var nextToken: UInt64 = 1

    init() throws(SystemError) {
        epoll = try Epoll(capacity: 512)
    }

    @discardableResult
    func register(_ fd: FileDescriptor, _ interest: Epoll.Interest, _ source: Source) throws(SystemError) -> UInt64 {
        let token = nextToken
        nextToken += 1
        try epoll.add(fd, interest, token: token)
        sources[token] = source
        return token
    }

    func modify(_ fd: FileDescriptor, _ interest: Epoll.Interest, token: UInt64) throws(SystemError) {
        try epoll.modify(fd, interest, token: token)
    }

    func unregister(_ fd: FileDescriptor, token: UInt64) {
        epoll.remove(fd)
        sources[token] = nil
    }

    /// nil once the registration is gone (an fd closed earlier in the same turn).
    func source(of token: UInt64) -> Source? {
        sources[token]
    }

    /// Waits until an fd is ready or `deadline` passes (nil: no deadline), and answers the
    /// ready ones in priority order (signals, control, the rest), with their sources.
    func wait(until deadline: Instant?) throws(SystemError) -> [(event: Epoll.Event, source: Source)] {
        var timeout: Int64?
        if let deadline {
            let now = MonotonicClock.now()
            timeout = deadline > now ? Int64(clamping: deadline.nanoseconds - now.nanoseconds) : 0
        }
        let events = try epoll.wait(timeoutNanoseconds: timeout)
        var ready: [(event: Epoll.Event, source: Source)] = []
        ready.reserveCapacity(events.count)
        for event in events {
            if let source = sources[event.token] { ready.append((event, source)) }
        }
        // Stable: within a priority the kernel's order (round robin over ready fds) is kept.
        return ready.enumerated().sorted { ($0.element.source.priority, $0.offset) < ($1.element.source.priority, $1.offset) }.map(\.element)
    }
}
