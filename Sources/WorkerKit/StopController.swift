import Synchronization

/// The one place that knows whether the worker was asked to stop: set by the signal watcher,
/// read by the context, awaited by `stopRequested()`, and the trigger that cancels `run`.
package final class StopController: Sendable {
    private let requested = Atomic<Bool>(false)
    private let state = Mutex(State())

    private struct State {
        var signal: Int32?
        var actions: [@Sendable () -> Void] = []
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
    }

    package init() {}

    package var isRequested: Bool { requested.load(ordering: .acquiring) }

    /// The signal that asked for the stop, if one did.
    package var signal: Int32? { state.withLock { $0.signal } }

    /// Records a stop request. Returns true for the first request only; it runs the registered
    /// actions and wakes every waiter, outside the lock.
    @discardableResult
    package func request(signal: Int32? = nil) -> Bool {
        let work = state.withLock { state -> (actions: [@Sendable () -> Void], waiters: [CheckedContinuation<Void, Never>])? in
            guard !requested.load(ordering: .relaxed) else { return nil }
            requested.store(true, ordering: .releasing)
            state.signal = signal
            let work = (state.actions, Array(state.waiters.values))
            state.actions = []
            state.waiters = [:]
            state.cancelledWaiters = []
            return work
        }
        guard let work else { return false }
        for action in work.actions {
            action()
        }
        for waiter in work.waiters {
            waiter.resume()
        }
        return true
    }

    /// Runs `action` when a stop is requested (at once if it already was).
    package func onRequest(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if requested.load(ordering: .relaxed) { return true }
            state.actions.append(action)
            return false
        }
        if runNow { action() }
    }

    /// Returns once a stop is requested, or when the calling task is cancelled.
    package func wait() async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if requested.load(ordering: .relaxed) || state.cancelledWaiters.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            // The handler may run before the continuation is stored: leave a mark for it.
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if !requested.load(ordering: .relaxed) { state.cancelledWaiters.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }
}
