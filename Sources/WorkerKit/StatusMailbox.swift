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

    /// How many one-second attempts a status gets before it is given up (the supervisor is
    /// gone, or wedged for a minute).
    static let attempts = 60

    private func deliverForever() {
        var failures = 0
        while true {
            guard let text = state.withLock({ $0.pending }) else {
                failures = 0
                while sem_wait(wakeUp) != 0 && errno == EINTR {}
                continue
            }
            if socket.send(.status(text), patience: .seconds(1)) {
                state.withLock { if $0.pending == text { $0.pending = nil } }
                failures = 0
            } else {
                failures += 1
                if failures >= Self.attempts {
                    state.withLock { if $0.pending == text { $0.pending = nil } }
                    continue
                }
                // No room within a second, or nobody listening: try again in a second, or at
                // the next post.
                var until = timespec()
                clock_gettime(CLOCK_REALTIME, &until)
                until.tv_sec += 1
                while sem_timedwait(wakeUp, &until) != 0 && errno == EINTR {}
            }
        }
    }
}
