import CLinux
import Glibc
import Synchronization

/// `STATUS=` that never goes stale for long. A status is sent at once when the supervisor's
/// queue has room; when it has none, the newest text waits here (an older one is superseded)
/// and a thread of its own delivers it as soon as there is room. So a status is never lost for
/// good, and no task ever waits for the supervisor. The thread matters most when the worker
/// then wedges its executor: the status it set just before is the one an operator reads.
final class StatusMailbox: Sendable {
    private struct State {
        var pending: String?
        var courierStarted = false
    }

    private let socket: NotifySocket
    private let state = Mutex(State())
    // Counts posts the courier has not looked at yet; it sleeps on it when nothing is pending.
    private nonisolated(unsafe) let wakeUp: UnsafeMutablePointer<sem_t>

    init(socket: NotifySocket) {
        self.socket = socket
        wakeUp = .allocate(capacity: 1)
        sem_init(wakeUp, 0, 0)
    }

    deinit {
        // Only reached by mailboxes whose courier never started (it holds a reference).
        sem_destroy(wakeUp)
        wakeUp.deallocate()
    }

    func post(_ text: String) {
        let startCourier: Bool = state.withLock { state in
            // While an older status waits, this one takes its place: sending it directly could
            // let the older one arrive after it.
            if state.pending == nil, socket.send(.status(text)) { return false }
            state.pending = text
            defer { state.courierStarted = true }
            return !state.courierStarted
        }
        if startCourier {
            PosixThread.start(name: "wk-status") { [self] in deliverForever() }
        }
        sem_post(wakeUp)
    }

    /// How long a status keeps being retried before it is given up (the supervisor is gone,
    /// or has not read for that long).
    static let giveUpAfter: UInt64 = 60_000_000_000
    /// How often a full queue is tried again. A send that waited for room could deliver a text
    /// superseded while it waited; retrying without waiting always sends the newest.
    static let retryEvery: Int = 20_000_000

    private func deliverForever() {
        var failingSince: UInt64?
        while true {
            guard let text = state.withLock({ $0.pending }) else {
                failingSince = nil
                while sem_wait(wakeUp) != 0 && errno == EINTR {}
                continue
            }
            if socket.send(.status(text)) {
                state.withLock { if $0.pending == text { $0.pending = nil } }
                failingSince = nil
                continue
            }
            let now = bh_monotonic_ns()
            if now - (failingSince ?? now) > Self.giveUpAfter {
                state.withLock { if $0.pending == text { $0.pending = nil } }
                failingSince = nil
                continue
            }
            failingSince = failingSince ?? now
            // Until the next try, or the next post (a newer text), whichever comes first.
            var until = timespec()
            clock_gettime(CLOCK_REALTIME, &until)
            until.tv_nsec += Self.retryEvery
            if until.tv_nsec >= 1_000_000_000 {
                until.tv_sec += 1
                until.tv_nsec -= 1_000_000_000
            }
            while sem_timedwait(wakeUp, &until) != 0 && errno == EINTR {}
        }
    }
}
