import CLinux
import Glibc

/// A mutex with condition variables, for the daemon's writer threads (which wait for work, and
/// whose callers wait for them to drain: Synchronization.Mutex has no condition). The pthread
/// objects are allocated, so they have the stable address pthreads needs; a Swift stored
/// property passed as `&mutex` has no such guarantee.
final class ThreadMonitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() {
        pthread_mutex_lock(mutex)
    }

    func unlock() {
        pthread_mutex_unlock(mutex)
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// A condition to wait for with this monitor held.
    final class Condition: @unchecked Sendable {
        private let condition: UnsafeMutablePointer<pthread_cond_t>
        private unowned let monitor: ThreadMonitor

        init(_ monitor: ThreadMonitor) {
            self.monitor = monitor
            condition = .allocate(capacity: 1)
            condition.initialize(to: pthread_cond_t())
            // Timed waits measure CLOCK_MONOTONIC: on CLOCK_REALTIME (the default) a wall clock
            // set back an hour would hold a drain at shutdown for that hour.
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            pthread_cond_init(condition, &attributes)
            pthread_condattr_destroy(&attributes)
        }

        deinit {
            pthread_cond_destroy(condition)
            condition.deallocate()
        }

        /// With the monitor held: releases it until signalled (spurious wake-ups happen: wait in
        /// a loop over what you wait for).
        func wait() {
            pthread_cond_wait(condition, monitor.mutex)
        }

        /// Like `wait`, at most `nanoseconds`; false when the time ran out.
        func wait(nanoseconds: Int64) -> Bool {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let total = Int64(deadline.tv_nsec) + nanoseconds
            deadline.tv_sec += Int(total / 1_000_000_000)
            deadline.tv_nsec = Int(total % 1_000_000_000)
            return pthread_cond_timedwait(condition, monitor.mutex, &deadline) != ETIMEDOUT
        }

        func signal() {
            pthread_cond_signal(condition)
        }

        func broadcast() {
            pthread_cond_broadcast(condition)
        }
    }
}

/// A point on the monotonic clock some time from now, for bounded waits.
struct MonotonicDeadline {
    let nanoseconds: UInt64

    init(afterNanoseconds delay: Int64) {
        nanoseconds = bh_monotonic_ns() + UInt64(max(0, delay))
    }

    var passed: Bool { bh_monotonic_ns() >= nanoseconds }

    /// Nanoseconds left, nil once passed.
    var remaining: Int64? {
        let now = bh_monotonic_ns()
        return now < nanoseconds ? Int64(nanoseconds - now) : nil
    }
}
