import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// What `status` says about the daemon itself, gathered from its parts for one request.
struct DaemonFacts {
    var pid: Int32
    var configPath: String
    var socketPath: String
    var startedAt: Instant
    var shuttingDown: Bool
    var instanceCount: Int
    var reportsUnsaved: Int
    var reportsLost: Int
    /// Dropped sd_notify datagrams per instance (only instances that had one).
    var notifyRejected: [InstanceID: Int]
    /// …and in all, those from processes of no instance included.
    var notifyRejectedTotal = 0
}

/// The `status` reply, written straight to bytes: it is the request scripts poll and the one
/// that grows with the instance count, so it builds no JSON tree (a thousand instances would be
/// fifteen thousand values allocated and freed per request). The schema is in docs/CONTROL.md;
/// `BulkheadJSON` parses it back in the tests.
enum StatusDocument {
    static func encode(_ daemon: DaemonFacts, _ snapshots: [InstanceSnapshot], _ now: Instant, fragments: StatusFragments) -> [UInt8] {
        var w = CompactWriter(capacity: 512 + snapshots.count * 300)
        w.raw(ControlProtocol.resultPrefix)
        w.raw("{\"daemon\":{\"pid\":")
        w.int(Int64(daemon.pid))
        w.raw(",\"version\":")
        w.string(BulkheadVersion.current)
        w.raw(",\"protocol\":")
        w.int(ControlProtocol.version)
        w.raw(",\"config\":")
        w.string(daemon.configPath)
        w.raw(",\"socket\":")
        w.string(daemon.socketPath)
        w.raw(",\"uptime_ms\":")
        w.int(now.duration(since: daemon.startedAt).milliseconds)
        w.raw(",\"shutting_down\":")
        w.raw(daemon.shuttingDown ? "true" : "false")
        w.raw(",\"crash_reports_unsaved\":")
        w.int(Int64(daemon.reportsUnsaved))
        w.raw(",\"crash_reports_lost\":")
        w.int(Int64(daemon.reportsLost))
        w.raw(",\"notify_rejected\":")
        w.int(Int64(daemon.notifyRejectedTotal))
        var counts = [Int](repeating: 0, count: stateOrder.count)
        for snapshot in snapshots { counts[position(of: snapshot.state)] += 1 }
        w.raw("},\"summary\":")
        w.string(summary(counts, total: snapshots.count))
        w.raw(",\"counts\":{")
        for (index, state) in stateOrder.enumerated() {
            if index > 0 { w.raw(",") }
            w.string(state.rawValue)
            w.raw(":")
            w.int(Int64(counts[index]))
        }
        w.raw("},\"instances\":[")
        let wallOffset = WallClock.wallNanoseconds(of: now) - Int64(bitPattern: now.nanoseconds)
        // Per-instance sd_notify rejections are looked up only if there ever was one.
        let anyRejected = !daemon.notifyRejected.isEmpty
        let wallOffsetMilliseconds = wallOffset / 1_000_000
        fragments.trim(to: daemon.instanceCount)
        for (index, s) in snapshots.enumerated() {
            if index > 0 { w.raw(",") }
            let rejected = anyRejected ? daemon.notifyRejected[s.id] ?? 0 : 0
            let parts = fragments.parts(at: index, for: s, rejected: rejected, wallOffsetMilliseconds: wallOffsetMilliseconds) {
                fragment(s, rejected: rejected, wallOffset: wallOffset)
            }
            // Only the two fields that move with the clock are written per request.
            w.raw(parts.head)
            if let started = s.startedAt { w.int(now.milliseconds(since: started)) } else { w.raw("null") }
            w.raw(parts.middle)
            if let next = s.nextAttemptAt { w.int(next.milliseconds(since: now)) } else { w.raw("null") }
            w.raw(parts.tail)
        }
        w.raw("]}}\n")
        return w.bytes
    }

    /// One instance's object around its two clock-driven numbers: `{…"uptime_ms":` ·
    /// `,"restarts":…"next_attempt_in_ms":` · `,"wanted":…}`.
    static func fragment(_ s: InstanceSnapshot, rejected: Int, wallOffset: Int64) -> StatusFragments.Parts {
        var w = CompactWriter(capacity: 320)
        w.raw("{\"instance\":\"")
        w.stringContents(s.id.worker)
        w.raw(":")
        w.int(Int64(s.id.index))
        w.raw("\",\"worker\":")
        w.string(s.id.worker)
        w.raw(",\"index\":")
        w.int(Int64(s.id.index))
        w.raw(",\"state\":")
        w.string(s.state.rawValue)
        w.raw(",\"pid\":")
        if let pid = s.pid { w.int(Int64(pid)) } else { w.raw("null") }
        w.raw(",\"started_at\":")
        if let started = s.startedAt {
            w.iso8601(Int64(bitPattern: started.nanoseconds) + wallOffset)
        } else {
            w.raw("null")
        }
        w.raw(",\"uptime_ms\":")
        let head = w.take()
        w.raw(",\"restarts\":")
        w.int(Int64(s.restarts))
        w.raw(",\"last_class\":")
        if let last = s.lastClass { w.string(last.rawValue) } else { w.raw("null") }
        w.raw(",\"status_text\":")
        if let text = s.statusText { w.string(text) } else { w.raw("null") }
        w.raw(",\"next_attempt_in_ms\":")
        let middle = w.take()
        w.raw(",\"wanted\":")
        w.raw(s.wanted ? "true" : "false")
        w.raw(",\"notify_rejected\":")
        w.int(Int64(rejected))
        w.raw("}")
        return StatusFragments.Parts(head: head, middle: middle, tail: w.take())
    }

    /// The order of `counts`.
    static let stateOrder: [InstanceState] = [.running, .starting, .waiting, .stopping, .stopped, .backoff, .open, .failed, .quarantined]

    static func position(of state: InstanceState) -> Int {
        switch state {
        case .running: return 0
        case .starting: return 1
        case .waiting: return 2
        case .stopping: return 3
        case .stopped: return 4
        case .backoff: return 5
        case .open: return 6
        case .failed: return 7
        case .quarantined: return 8
        }
    }

    /// `5/6 running, 1 backoff`: the words of `StatusSummary.line` (systemd's STATUS=), from
    /// counts made in the one pass above instead of nine passes over the snapshots.
    static func summary(_ counts: [Int], total: Int) -> String {
        var line = "\(counts[0])/\(total) running"
        for state in [InstanceState.starting, .waiting, .stopping, .backoff, .open, .failed, .quarantined, .stopped] {
            let count = counts[position(of: state)]
            if count > 0 { line += ", \(count) \(state.rawValue)" }
        }
        return line
    }
}

/// Compact JSON written by hand into one growing buffer: keys are literals, values are escaped
/// as JSONWriter does. (Appending to an Array checks uniqueness and capacity on every call,
/// which showed in profiles of a thousand-instance status.)
struct CompactWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 256)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    /// Everything written.
    var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }

    /// Everything written so far, and a fresh start (one writer builds several parts).
    mutating func take() -> [UInt8] {
        defer { count = 0 }
        return bytes
    }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        var grown = capacity * 2
        while grown < count + extra { grown *= 2 }
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        new.initialize(from: base, count: count)
        base.deallocate()
        base = new
        capacity = grown
    }

    mutating func byte(_ value: UInt8) {
        append(value)
    }

    @inline(__always)
    private mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    private mutating func append(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let source = buffer.baseAddress, buffer.count > 0 else { return }
        reserve(buffer.count)
        (base + count).initialize(from: source, count: buffer.count)
        count += buffer.count
    }

    private mutating func append(_ array: [UInt8]) {
        array.withUnsafeBufferPointer { append($0) }
    }

    mutating func raw(_ literal: StaticString) {
        literal.withUTF8Buffer { append($0) }
    }

    mutating func raw(_ prebuilt: [UInt8]) {
        append(prebuilt)
    }

    /// Text as it is (no quotes, no escaping): for the status table's cells that are
    /// bulkhead's own words and numbers.
    mutating func plain(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    mutating func plain(_ bytes: UnsafeBufferPointer<UInt8>) {
        append(bytes)
    }

    /// Text escaped as inside a JSON string, cut to `room` Unicode scalars (the last one an
    /// ellipsis) when it is longer.
    mutating func escaped(_ text: String, room: Int) {
        guard room < Int.max, text.unicodeScalars.count > max(room, 1) else { return stringContents(text) }
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: text.unicodeScalars.prefix(max(room - 1, 0)))
        stringContents(String(kept) + "…")
    }

    /// A line end inside a JSON string.
    mutating func escapedNewline() {
        reserve(2)
        base[count] = 0x5C
        base[count + 1] = 0x6E
        count += 2
    }

    mutating func spaces(_ count: Int) {
        guard count > 0 else { return }
        // Table padding is mostly a few spaces: two word stores (over room reserved past the
        // end) instead of a call to memset per cell.
        reserve(max(count, 16))
        if count <= 16 {
            let spaces = UInt64(0x2020_2020_2020_2020)
            UnsafeMutableRawPointer(base + self.count).storeBytes(of: spaces, as: UInt64.self)
            UnsafeMutableRawPointer(base + self.count + 8).storeBytes(of: spaces, as: UInt64.self)
        } else {
            (base + self.count).initialize(repeating: 0x20, count: count)
        }
        self.count += count
    }

    mutating func int(_ value: Int64) {
        if value < 0 { append(0x2D) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes: room for 20 digits
        let written = withUnsafeMutableBytes(of: &digits) { buffer -> Int in
            var position = buffer.count
            repeat {
                position -= 1
                buffer[position] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            } while magnitude > 0
            reserve(buffer.count - position)
            for index in position..<buffer.count { base[count + index - position] = buffer[index] }
            return buffer.count - position
        }
        count += written
    }

    /// `"2026-11-29T14:03:27.412Z"` (UTC), as `WallClockText.iso8601` writes it, without
    /// building a String.
    mutating func iso8601(_ wallNanoseconds: Int64) {
        var seconds = time_t(wallNanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        append(0x22)
        digits(Int(parts.tm_year) + 1900, 4)
        append(0x2D)
        digits(Int(parts.tm_mon) + 1, 2)
        append(0x2D)
        digits(Int(parts.tm_mday), 2)
        append(0x54)
        digits(Int(parts.tm_hour), 2)
        append(0x3A)
        digits(Int(parts.tm_min), 2)
        append(0x3A)
        digits(Int(parts.tm_sec), 2)
        append(0x2E)
        digits(Int((wallNanoseconds / 1_000_000) % 1000), 3)
        append(0x5A)
        append(0x22)
    }

    /// `value` in exactly `width` decimal digits (zero-padded; `value` is non-negative and fits).
    private mutating func digits(_ value: Int, _ width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = max(0, value)
        while divisor > 0 {
            append(UInt8(truncatingIfNeeded: (rest / divisor) % 10) + 0x30)
            rest %= divisor
            divisor /= 10
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, … or `\u00XX`.
    mutating func string(_ text: String) {
        append(0x22)
        stringContents(text)
        append(0x22)
    }

    /// A string's escaped contents, without the quotes.
    mutating func stringContents(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte == 0x22 || byte == 0x5C || byte < 0x20 else { continue }
                if start < index { append(UnsafeBufferPointer(rebasing: utf8[start..<index])) }
                start = index + 1
                append(0x5C)
                switch byte {
                case 0x22: append(0x22)
                case 0x5C: append(0x5C)
                case 0x0A: append(0x6E)
                case 0x0D: append(0x72)
                case 0x09: append(0x74)
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    append(0x75)
                    append(0x30)
                    append(0x30)
                    append(hex[Int(byte >> 4)])
                    append(hex[Int(byte & 0x0F)])
                }
            }
            if start < utf8.count { append(UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
    }
}
