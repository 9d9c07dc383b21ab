import Glibc
import Synchronization

@testable import WorkerKit

// Every wait in these tests is for an event (a datagram, a line of output, an exit, a reply)
// with a deadline; none sleeps and hopes.

/// CLOCK_MONOTONIC now, in nanoseconds.
func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// `seconds` from now on CLOCK_MONOTONIC.
func deadline(in seconds: Double) -> UInt64 {
    now() + UInt64(seconds * 1e9)
}

/// Milliseconds left until `deadline`, rounded up, for poll(2); 0 once it has passed.
func pollTimeout(until deadline: UInt64) -> Int32 {
    let current = now()
    return current >= deadline ? 0 : Int32(clamping: (deadline - current + 999_999) / 1_000_000)
}

/// Waits until `fd` is readable (or hung up); false when the deadline passes first.
func waitReadable(_ fd: Int32, until deadline: UInt64) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
        let timeout = pollTimeout(until: deadline)
        let ready = poll(&entry, 1, timeout)
        if ready > 0 { return true }
        if ready == 0 && timeout == 0 { return false }
        if ready < 0 && errno != EINTR { return false }
    }
}

/// Runs a blocking call on a thread of its own, so waits never park the cooperative pool the
/// tests (and in-process services) run on.
func offload<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        PosixThread.start(name: "test-wait") {
            continuation.resume(returning: body())
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Where SwiftPM put the package's executables: beside the test bundle (`/proc/self/exe`), or
/// in a `debug` folder above it.
func builtProduct(_ name: String) throws -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { throw TestFailure("cannot read /proc/self/exe") }
    let exe = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var directory = Substring(exe)
    while let slash = directory.lastIndex(of: "/") {
        directory = directory[..<slash]
        for candidate in ["\(directory)/\(name)", "\(directory)/debug/\(name)"] where access(candidate, X_OK) == 0 {
            return candidate
        }
    }
    throw TestFailure("\(name) not found near \(exe): swift build --build-tests builds it")
}
