import Glibc

@testable import WorkerKit

/// Runs a blocking wait (poll on a socket or a pidfd) on its own thread, so process tests never
/// park a thread of the cooperative pool the other tests run on.
func offload<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        PosixThread.start(name: "test-wait") {
            continuation.resume(returning: body())
        }
    }
}

/// CLOCK_MONOTONIC now, in nanoseconds.
func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// A point in CLOCK_MONOTONIC time `seconds` from now.
func deadline(in seconds: Double) -> UInt64 {
    now() + UInt64(seconds * 1e9)
}

/// Milliseconds left until `deadline` for poll(2) (0 when past).
func pollTimeout(until deadline: UInt64) -> Int32 {
    let current = now()
    return current >= deadline ? 0 : Int32(clamping: (deadline - current + 999_999) / 1_000_000)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
