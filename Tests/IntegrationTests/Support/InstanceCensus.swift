import BulkheadSystem
import Foundation
import Glibc

/// Watches /proc while a test runs (SPEC §10: never two copies of an instance, checked at every
/// moment, not only after): every few milliseconds it finds the live main processes of one
/// daemon's workers — session leaders (each instance starts a session of its own), not zombies,
/// whose environment holds the test's `BH_TAG` — and keeps, per instance, the most seen at once.
final class InstanceCensus: @unchecked Sendable {
    let tag: String
    private let lock = NSLock()
    private var most: [String: Int] = [:]
    /// The pids of the scan that saw the most, per instance (for the failure message).
    private var example: [String: [Int32]] = [:]
    private var scans = 0
    private var running = true
    private var finished = false

    init(tag: String) {
        self.tag = tag
        let thread = Thread { [self] in
            while isRunning {
                record(Self.scan(tag: tag))
                usleep(3_000)
            }
            lock.lock()
            finished = true
            lock.unlock()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    private func record(_ found: [String: [Int32]]) {
        lock.lock()
        defer { lock.unlock() }
        scans += 1
        for (instance, pids) in found where pids.count > most[instance, default: 0] {
            most[instance] = pids.count
            example[instance] = pids
        }
    }

    /// Stops watching; per instance the most main processes seen at once, and the scans made.
    func stop() -> (most: [String: Int], example: [String: [Int32]], scans: Int) {
        lock.lock()
        running = false
        lock.unlock()
        while true {
            lock.lock()
            let done = finished
            lock.unlock()
            if done { break }
            usleep(1_000)
        }
        lock.lock()
        defer { lock.unlock() }
        return (most, example, scans)
    }

    /// Instance → pids of the live main processes tagged `tag`.
    static func scan(tag: String) -> [String: [Int32]] {
        var found: [String: [Int32]] = [:]
        let needle = Array("BH_TAG=\(tag)".utf8)
        for name in FileSystem.list("/proc") {
            guard let pid = Int32(name), let stat = ProcFS.stat(pid), stat.session == pid,
                  stat.state != "Z", stat.state != "X" else { continue }
            guard let environ = FileSystem.read("/proc/\(pid)/environ", limit: 64 << 10) else { continue }
            var tagged = false
            var instance: String?
            for entry in environ.split(separator: 0) {
                if entry.elementsEqual(needle) { tagged = true }
                if entry.starts(with: Array("BULKHEAD_INSTANCE=".utf8)) {
                    instance = String(decoding: entry.dropFirst("BULKHEAD_INSTANCE=".utf8.count), as: UTF8.self)
                }
            }
            if tagged, let instance { found[instance, default: []].append(pid) }
        }
        return found
    }
}
