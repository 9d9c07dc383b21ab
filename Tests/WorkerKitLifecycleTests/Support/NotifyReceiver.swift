import Glibc
import Synchronization

/// The supervisor's end of sd_notify: an abstract AF_UNIX datagram socket whose address goes
/// into the worker's `NOTIFY_SOCKET`. Every datagram read is kept, with the time it was read.
final class NotifyReceiver: @unchecked Sendable {
    struct Datagram: Sendable, CustomStringConvertible {
        var text: String
        /// CLOCK_MONOTONIC ns when the test read it.
        var receivedAt: UInt64

        var assignments: [String] { text.split(separator: "\n").map(String.init) }
        func contains(_ assignment: String) -> Bool { assignments.contains(assignment) }
        /// The value of `key=` in this datagram, if any.
        func value(of key: String) -> String? {
            assignments.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
        var description: String { text.split(separator: "\n").joined(separator: " ") }
    }

    /// `@name`, as NOTIFY_SOCKET spells an abstract address.
    let address: String
    private let fd: Int32
    private let received = Mutex<[Datagram]>([])
    private static let counter = Atomic<Int>(0)

    init() throws {
        address = "@workerkit-lifecycle-test/\(getpid())/\(Self.counter.add(1, ordering: .relaxed).newValue)"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        var name = Array(address.utf8)
        name[0] = 0  // abstract: a leading NUL, no terminator
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + name.count)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            close(fd)
            throw TestFailure("bind \(address): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Every datagram read so far.
    var datagrams: [Datagram] { received.withLock { $0 } }

    /// Reads until a datagram holds `assignment` (`READY=1`); nil when the deadline passes first.
    func waitFor(_ assignment: String, within seconds: Double = 30) async -> Datagram? {
        if let seen = datagrams.first(where: { $0.contains(assignment) }) { return seen }
        let limit = deadline(in: seconds)
        while let datagram = await next(until: limit) {
            if datagram.contains(assignment) { return datagram }
        }
        return nil
    }

    /// Reads every datagram that arrives before `limit`.
    func collect(until limit: UInt64) async {
        while await next(until: limit) != nil {}
    }

    private func next(until limit: UInt64) async -> Datagram? {
        let fd = fd
        let datagram = await offload { () -> Datagram? in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count >= 0 {
                    return Datagram(text: String(decoding: buffer[0..<count], as: UTF8.self), receivedAt: now())
                }
                guard errno == EAGAIN || errno == EINTR, waitReadable(fd, until: limit) else { return nil }
            }
        }
        if let datagram { received.withLock { $0.append(datagram) } }
        return datagram
    }
}
