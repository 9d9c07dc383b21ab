import CLinux
import Glibc

/// One `jobworker` run for a process test: the child, its notify listener, a breadcrumb ring
/// shared through a memfd (as bulkhead passes it) and its stderr captured in a memfd.
final class WorkerRun: @unchecked Sendable {
    let child: ChildProcess
    let listener: NotifyListener?
    let ringFD: Int32
    let ringSize: Int
    let ring: UnsafeMutableRawPointer
    let stderrFD: Int32
    /// Every datagram read so far, in order.
    var datagrams: [NotifyListener.Datagram] = []

    static let ringCapacity: UInt32 = 64

    init(arguments: [String], environment extra: [String: String] = [:], notify: Bool = true) throws {
        listener = notify ? try NotifyListener() : nil
        ringSize = bh_crumb_region_size(Self.ringCapacity)
        ringFD = bh_memfd("test-crumbs", ringSize)
        guard ringFD >= 0 else { throw TestFailure("memfd failed") }
        guard let mapped = mmap(nil, ringSize, PROT_READ | PROT_WRITE, MAP_SHARED, ringFD, 0),
            mapped != UnsafeMutableRawPointer(bitPattern: -1)
        else { throw TestFailure("mmap failed") }
        ring = mapped
        bh_crumb_init(ring, Self.ringCapacity)
        stderrFD = bh_memfd("test-stderr", 0)

        var environment = [
            "PATH": "/usr/bin:/bin",
            // No backtracer: a trap should end the child in milliseconds, not after a report.
            "SWIFT_BACKTRACE": "enable=no",
            "BULKHEAD_WORKER": "jobworker",
            "BULKHEAD_BREADCRUMBS_FD": "3",
        ]
        if let listener { environment["NOTIFY_SOCKET"] = listener.address }
        environment.merge(extra) { _, new in new }
        child = try ChildProcess(
            path: TestBinaries.path(of: "jobworker"),
            arguments: arguments,
            environment: environment,
            extraFDs: [ringFD],
            stderrFD: stderrFD
        )
    }

    deinit {
        munmap(ring, ringSize)
        close(ringFD)
        close(stderrFD)
    }

    /// Reads datagrams until one holds `assignment` (e.g. `READY=1`); nil at the deadline.
    @discardableResult
    func waitFor(_ assignment: String, within seconds: Double = 20) async -> NotifyListener.Datagram? {
        guard let listener else { return nil }
        return await listener.waitFor(until: deadline(in: seconds), seen: &datagrams) { $0.contains(assignment) }
    }

    /// Reads every datagram that arrives before `deadline`.
    func collect(until deadline: UInt64) async {
        guard let listener else { return }
        while let datagram = await listener.next(until: deadline) {
            datagrams.append(datagram)
        }
    }

    /// The child's stderr so far.
    var stderr: String {
        var info = stat()
        guard fstat(stderrFD, &info) == 0, info.st_size > 0 else { return "" }
        var buffer = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = pread(stderrFD, &buffer, buffer.count, 0)
        return String(decoding: buffer[0..<max(0, count)], as: UTF8.self)
    }

    /// The ring's complete entries, oldest first, read as bulkhead reads them.
    var breadcrumbs: [String] {
        var entries = [bh_crumb_entry](repeating: bh_crumb_entry(), count: Int(Self.ringCapacity))
        let count = bh_crumb_read(ring, ringSize, &entries, Int32(Self.ringCapacity))
        return entries[0..<Int(count)].map { entry in
            var entry = entry
            let length = Int(entry.length)
            return withUnsafeBytes(of: &entry.text) { String(decoding: $0[0..<length], as: UTF8.self) }
        }
    }

    /// The header's `dying_ns`: non-zero once WorkerKit exited on purpose.
    var dyingStamp: UInt64 {
        ring.load(as: bh_crumb_header.self).dying_ns
    }
}
