import CLinux
import Glibc
import Synchronization

/// The supervisor's end of sd_notify in a test: an abstract datagram socket with SO_PASSCRED
/// (`bh_notify_socket`), read with `bh_notify_receive`.
final class NotifyListener: @unchecked Sendable {
    struct Datagram: Sendable {
        var text: String
        var senderPID: pid_t
        /// CLOCK_MONOTONIC ns when the test read it.
        var receivedAt: UInt64

        var assignments: [String] { text.split(separator: "\n").map(String.init) }
        func contains(_ assignment: String) -> Bool { assignments.contains(assignment) }
    }

    let address: String
    private let fd: Int32
    private static let counter = Atomic<Int>(0)

    init() throws {
        address = "@workerkit-test/\(getpid())/\(Self.counter.add(1, ordering: .relaxed).newValue)"
        fd = bh_notify_socket(address, 1 << 20)
        guard fd >= 0 else { throw TestFailure("bh_notify_socket failed: \(-fd)") }
    }

    deinit { close(fd) }

    /// The next datagram, or nil when `deadline` passes first.
    func next(until deadline: UInt64) async -> Datagram? {
        let fd = fd
        return await offload {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                var info = bh_datagram()
                let got = buffer.withUnsafeMutableBytes { bh_notify_receive(fd, $0.baseAddress, $0.count, &info) }
                if got == 1 {
                    let text = String(decoding: buffer[0..<max(0, info.length)], as: UTF8.self)
                    return Datagram(text: text, senderPID: info.pid, receivedAt: now())
                }
                let timeout = pollTimeout(until: deadline)
                if timeout == 0 { return nil }
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, timeout)
            }
        }
    }

    /// Reads until a datagram satisfies `match` (returned) or the deadline passes (nil); every
    /// datagram read on the way is appended to `seen`.
    func waitFor(until deadline: UInt64, seen: inout [Datagram], _ match: (Datagram) -> Bool) async -> Datagram? {
        while let datagram = await next(until: deadline) {
            seen.append(datagram)
            if match(datagram) { return datagram }
        }
        return nil
    }
}
