import CLinux
import BulkheadPolicy
import CSystemd
import Glibc

/// Sends journal records (`JournalRecord`) to journald from its own thread: `sd_journal_sendv`
/// blocks while journald is slow, and the supervision loop must never wait for it. The queue is
/// bounded: when it is full, a batch's worker lines are dropped and counted (reported by the
/// daemon as `output-dropped`), while its supervisor events are still queued, within a small
/// reserve — a crash entry is worth more than a flood line. Lines journald refused
/// (`sd_journal_sendv` < 0: no journald at the socket any more) are counted as dropped too.
final class JournalWriter: @unchecked Sendable {
    /// `sd_journal_sendv`, or a test's capture.
    typealias Send = (UnsafePointer<iovec>, Int32) -> Int32

    private let send: Send
    private var queue: ByteQueueWriter!
    /// Events journald refused (not reported as dropped lines: reporting them would be one
    /// more event journald refuses). Written by the writer thread.
    private(set) var lostEvents = 0

    // Writer-thread state.
    private var labels: [[UInt8]: LabelFields] = [:]
    private var lastLabel: LabelFields?
    private var iovecs: [iovec] = []
    private let constants: ConstantFields

    init(capacity: Int = 16 << 20, eventReserve: Int = 1 << 20, send: @escaping Send = { sd_journal_sendv($0, $1) }) {
        self.send = send
        constants = ConstantFields()
        iovecs = [iovec](repeating: iovec(), count: 64)
        // The writer lives as long as the daemon: its thread holds it.
        queue = ByteQueueWriter(capacity: capacity, reserve: eventReserve) { [self] in deliver($0) }
    }

    /// Queues a batch of records holding `lines` worker lines (and possibly events). When it
    /// does not fit, its events are still kept, within the reserve.
    func submit(_ batch: UnsafeRawBufferPointer, lines: Int, events: Int) {
        queue.submit(batch, lines: lines, salvage: events == 0 ? nil : { keep in
            JournalRecord.walk(batch) { record, range in
                if case .event = record { keep(UnsafeRawBufferPointer(rebasing: batch[range])) }
            }
        })
    }

    func takeDroppedLines() -> Int {
        queue.takeDroppedLines()
    }

    /// Waits (at most `timeoutNanoseconds`) until everything queued has been sent.
    func drain(timeoutNanoseconds: Int64) {
        queue.drain(timeoutNanoseconds: timeoutNanoseconds)
    }

    /// Sends every record of `batch`; returns how many lines journald refused.
    private func deliver(_ batch: UnsafeRawBufferPointer) -> Int {
        var refused = 0
        JournalRecord.walk(batch) { record, _ in
            switch record {
            case .line(let line):
                if sendLine(line) < 0 { refused += 1 }
            case .event(let event):
                if sendEvent(event) < 0 { lostEvents += 1 }
            }
        }
        return refused
    }

    private func sendLine(_ line: JournalRecord.Line) -> Int32 {
        let label = fields(for: line.label)
        iovecs[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: line.message.baseAddress), iov_len: line.message.count)
        iovecs[1] = constants.priority[min(max(line.priority, 0), 7)]
        iovecs[2] = constants.stream[line.stream == .stdout ? 0 : 1]
        iovecs[3] = label.identifier
        iovecs[4] = label.worker
        iovecs[5] = label.instance
        return iovecs.withUnsafeBufferPointer { send($0.baseAddress!, 6) }
    }

    private func sendEvent(_ event: JournalRecord.Event) -> Int32 {
        let count = min(event.fields.count, iovecs.count)
        for index in 0..<count {
            let field = event.fields[index]
            iovecs[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: field.baseAddress), iov_len: field.count)
        }
        return iovecs.withUnsafeBufferPointer { send($0.baseAddress!, Int32(count)) }
    }

    /// The per-instance fields, built once per label: lines come in runs from one instance,
    /// so the last one is checked first, without hashing.
    private func fields(for label: UnsafeRawBufferPointer) -> LabelFields {
        if let last = lastLabel, last.matches(label) { return last }
        let key = [UInt8](label)
        if let known = labels[key] {
            lastLabel = known
            return known
        }
        if labels.count >= 4096 { labels.removeAll() }   // removed instances over a long life
        let made = LabelFields(label: key)
        labels[key] = made
        lastLabel = made
        return made
    }
}

/// `SYSLOG_IDENTIFIER=<worker>`, `BULKHEAD_WORKER=<worker>` and `BULKHEAD_INSTANCE=<label>` of
/// one instance, in memory that stays put for the iovecs.
private final class LabelFields {
    let label: [UInt8]
    let storage: UnsafeMutableRawBufferPointer
    let identifier: iovec
    let worker: iovec
    let instance: iovec

    init(label: [UInt8]) {
        self.label = label
        let workerName = label.prefix { $0 != UInt8(ascii: ":") }
        let parts: [[UInt8]] = [
            Array("SYSLOG_IDENTIFIER=".utf8) + workerName,
            Array("BULKHEAD_WORKER=".utf8) + workerName,
            Array("BULKHEAD_INSTANCE=".utf8) + label,
        ]
        storage = .allocate(byteCount: parts.reduce(0) { $0 + $1.count }, alignment: 8)
        var offset = 0
        var made: [iovec] = []
        for part in parts {
            let base = storage.baseAddress! + offset
            part.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            made.append(iovec(iov_base: base, iov_len: part.count))
            offset += part.count
        }
        identifier = made[0]
        worker = made[1]
        instance = made[2]
    }

    func matches(_ other: UnsafeRawBufferPointer) -> Bool {
        guard other.count == label.count else { return false }
        guard !label.isEmpty else { return true }
        return label.withUnsafeBytes { memcmp($0.baseAddress!, other.baseAddress!, other.count) == 0 }
    }

    deinit {
        storage.deallocate()
    }
}

/// `PRIORITY=0` … `PRIORITY=7` and `BULKHEAD_STREAM=stdout|stderr`, allocated once.
private struct ConstantFields {
    let priority: [iovec]
    let stream: [iovec]

    init() {
        priority = (0...7).map { Self.field("PRIORITY=\($0)") }
        stream = [Self.field("BULKHEAD_STREAM=stdout"), Self.field("BULKHEAD_STREAM=stderr")]
    }

    /// Lives as long as the process (the writer is never torn down).
    static func field(_ text: String) -> iovec {
        let bytes = Array(text.utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        storage.copyBytes(from: bytes)
        return iovec(iov_base: storage.baseAddress, iov_len: bytes.count)
    }
}
