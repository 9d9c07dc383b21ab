import BulkheadPolicy
import BulkheadSystem
import CJournalReader
import Glibc

/// Reads worker output back from the journal, for `bulkhead logs` when the daemon writes to
/// journald (SPEC §5). Worker lines are the entries with `BULKHEAD_STREAM` set (supervisor
/// events carry `BULKHEAD_WORKER` too, but no stream), matched by `BULKHEAD_WORKER=` and, for
/// one instance, `BULKHEAD_INSTANCE=`. Only the local machine's journal files (runtime and
/// persistent) are read; what the caller may read is up to the journal's own permissions
/// (root, or the `systemd-journal` / `adm` groups).
public final class JournalLogReader {
    public struct Line: Equatable, Sendable {
        public var instance: String
        /// `stdout` or `stderr`.
        public var stream: String
        public var priority: Int?
        /// When journald received it, microseconds since the epoch.
        public var wallMicroseconds: UInt64
        /// The line as the worker wrote it (without a `<N>` prefix); bytes that are not UTF-8
        /// are shown as U+FFFD.
        public var text: String

        /// RFC 3339 UTC with milliseconds, like the daemon's buffer (`at` in `logs` replies).
        public var at: String {
            WallClockText.iso8601(Int64(clamping: wallMicroseconds) * 1_000)
        }
    }

    public struct OpenError: Error, CustomStringConvertible {
        public var description: String
    }

    private let journal: OpaquePointer

    /// sd_journal_open(3) with `SD_JOURNAL_LOCAL_ONLY`, libsystemd loaded on first use.
    public init() throws(OpenError) {
        guard bh_journal_load() == 0 else {
            throw OpenError(description: "cannot read the journal: \(String(cString: bh_journal_error()))")
        }
        var handle: OpaquePointer?
        let rc = bh_journal_open_local(&handle)
        guard rc >= 0, let handle else { throw OpenError(description: "cannot open the journal: \(String(cString: strerror(-rc)))") }
        journal = handle
        // Whole fields: a line can be 32 KiB, past the default threshold of 64 KiB only for
        // fields bulkhead does not write, but be exact.
        _ = bh_journal_set_data_threshold(journal, 0)
    }

    deinit {
        bh_journal_close(journal)
    }

    /// Some journal file is visible to this process at all. False usually means the caller
    /// may not read the system journal (not root, not in `systemd-journal`).
    public var canSeeJournalFiles: Bool {
        bh_journal_has_runtime_files(journal) > 0 || bh_journal_has_persistent_files(journal) > 0
    }

    /// The last `last` lines of `worker` (all workers when nil), or of one instance, oldest first.
    public func lines(worker: String?, instance: String? = nil, last: Int) -> [Line] {
        guard last > 0, match(worker: worker, instance: instance) else { return [] }
        _ = bh_journal_seek_tail(journal)
        var newestFirst: [Line] = []
        while newestFirst.count < last, bh_journal_previous(journal) > 0 {
            if let line = current() { newestFirst.append(line) }
        }
        return newestFirst.reversed()
    }

    /// The last `last` lines, then every new one as journald gets it, until `body` returns
    /// false. Waits in sd_journal_wait(3), waking every `poll` to let `body` decide to stop.
    public func follow(worker: String?, instance: String? = nil, last: Int, poll: Duration = .milliseconds(500),
                       _ body: (Line?) -> Bool) {
        guard match(worker: worker, instance: instance) else { return }
        // Step back over the backlog, then walk forward from there: the entries that arrive
        // meanwhile come after it, so none is lost or shown twice.
        _ = bh_journal_seek_tail(journal)
        var back = 0
        while back < max(last, 1), bh_journal_previous(journal) > 0 { back += 1 }
        if back == 0 {
            _ = bh_journal_seek_head(journal)   // nothing yet: every entry to come is new
        } else if last > 0, let line = current() {
            guard body(line) else { return }
        }
        let timeout = UInt64(max(poll.microseconds, 1_000))
        while true {
            let step = bh_journal_next(journal)
            if step > 0 {
                if let line = current() {
                    guard body(line) else { return }
                }
                continue
            }
            if step < 0 { return }
            guard body(nil) else { return }   // idle: a chance to flush and to stop
            _ = bh_journal_wait(journal, timeout)
        }
    }

    private func match(worker: String?, instance: String?) -> Bool {
        bh_journal_flush_matches(journal)
        var ok = true
        func add(_ field: String) {
            ok = ok && field.withCString { bh_journal_add_match(journal, $0, 0) } >= 0
        }
        // Same field: OR; different fields: AND.
        add("BULKHEAD_STREAM=stdout")
        add("BULKHEAD_STREAM=stderr")
        if let worker { add("BULKHEAD_WORKER=\(worker)") }
        if let instance { add("BULKHEAD_INSTANCE=\(instance)") }
        return ok
    }

    private func current() -> Line? {
        guard let stream = field("BULKHEAD_STREAM"), let instance = field("BULKHEAD_INSTANCE") else { return nil }
        var usec: UInt64 = 0
        _ = bh_journal_get_realtime_usec(journal, &usec)
        return Line(
            instance: String(decoding: instance, as: UTF8.self),
            stream: String(decoding: stream, as: UTF8.self),
            priority: field("PRIORITY").flatMap { Int(String(decoding: $0, as: UTF8.self)) },
            wallMicroseconds: usec,
            text: String(decoding: field("MESSAGE") ?? [], as: UTF8.self)
        )
    }

    /// The value of `name` in the current entry (the bytes after `NAME=`).
    private func field(_ name: String) -> [UInt8]? {
        var data: UnsafeRawPointer?
        var length = 0
        let rc = name.withCString { bh_journal_get_data(journal, $0, &data, &length) }
        guard rc >= 0, let data else { return nil }
        let skip = name.utf8.count + 1
        guard length >= skip else { return nil }
        return Array(UnsafeRawBufferPointer(start: data + skip, count: length - skip))
    }
}
