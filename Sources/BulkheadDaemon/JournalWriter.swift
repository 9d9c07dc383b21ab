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

    private let capacity: Int
    private let eventReserve: Int
    private let send: Send
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var drained = pthread_cond_t()
    private var queue: [UInt8] = []
    private var writing = false
    private var thread: pthread_t?
    private var droppedLines = 0
    /// Events journald refused (not reported as dropped lines: reporting them would be one
    /// more event journald refuses).
    private(set) var lostEvents = 0

    // Writer-thread state.
    private var labels: [[UInt8]: LabelFields] = [:]
    private var lastLabel: LabelFields?
    private var iovecs: [iovec] = []
    private let constants: ConstantFields

    init(capacity: Int = 16 << 20, eventReserve: Int = 1 << 20, send: @escaping Send = { sd_journal_sendv($0, $1) }) {
        self.capacity = capacity
        self.eventReserve = eventReserve
        self.send = send
        constants = ConstantFields()
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&drained, nil)
        queue.reserveCapacity(1 << 20)
        iovecs = [iovec](repeating: iovec(), count: 64)
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let writer = Unmanaged<JournalWriter>.fromOpaque(raw!).takeRetainedValue()
            writer.runLoop()
            return nil
        }, context)
        if rc == 0 { thread = handle } else { Unmanaged<JournalWriter>.fromOpaque(context).release() }
    }

    /// Queues a batch of records holding `lines` worker lines (and possibly events).
    func submit(_ batch: UnsafeRawBufferPointer, lines: Int, events: Int) {
        guard thread != nil else {
            deliver(batch)   // no thread (pthread_create failed): send inline rather than lose it
            return
        }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if queue.count + batch.count <= capacity {
            queue.append(contentsOf: batch)
        } else {
            droppedLines += lines
            guard events > 0 else { return }
            // Keep the events: copy their records out of the batch.
            JournalRecord.walk(batch) { record, range in
                guard case .event = record, queue.count + range.count <= capacity + eventReserve else { return }
                queue.append(contentsOf: UnsafeRawBufferPointer(rebasing: batch[range]))
            }
        }
        pthread_cond_signal(&wake)
    }

    func takeDroppedLines() -> Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let n = droppedLines
        droppedLines = 0
        return n
    }

    /// Waits (at most `timeoutNanoseconds`) until everything queued has been sent.
    func drain(timeoutNanoseconds: Int64) {
        guard thread != nil else { return }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let total = Int64(deadline.tv_nsec) + timeoutNanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_mutex_lock(&mutex)
        while !queue.isEmpty || writing {
            if pthread_cond_timedwait(&drained, &mutex, &deadline) == ETIMEDOUT { break }
        }
        pthread_mutex_unlock(&mutex)
    }

    private func runLoop() {
        _ = bh_set_thread_nice(10)   // the supervision loop and the workers come first
        var local: [UInt8] = []
        local.reserveCapacity(1 << 20)
        pthread_mutex_lock(&mutex)
        while true {
            while queue.isEmpty {
                pthread_cond_wait(&wake, &mutex)
            }
            swap(&local, &queue)
            writing = true
            pthread_mutex_unlock(&mutex)
            let refused = local.withUnsafeBytes { deliver($0) }
            local.removeAll(keepingCapacity: local.capacity <= 4 << 20)
            pthread_mutex_lock(&mutex)
            droppedLines += refused
            writing = false
            if queue.isEmpty { pthread_cond_broadcast(&drained) }
        }
    }

    /// Sends every record of `batch`; returns how many lines journald refused.
    @discardableResult
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
