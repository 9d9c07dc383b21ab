import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// The `status` reply, written straight to bytes: it is the request scripts poll and the one
/// that grows with the instance count, so it builds no JSON tree (a thousand instances would be
/// fifteen thousand values allocated and freed per request). The schema is in docs/CONTROL.md;
/// `BulkheadJSON` parses it back in the tests.
enum StatusDocument {
    static func encode(_ daemon: Daemon, _ snapshots: [InstanceSnapshot], _ now: Instant) -> [UInt8] {
        var w = CompactWriter(capacity: 512 + snapshots.count * 300)
        w.raw(ControlProtocol.resultPrefix)
        w.raw("{\"daemon\":{\"pid\":")
        w.int(Int64(daemon.daemonPID))
        w.raw(",\"version\":")
        w.string(BulkheadVersion.current)
        w.raw(",\"protocol\":")
        w.int(ControlProtocol.version)
        w.raw(",\"config\":")
        w.string(daemon.options.configPath)
        w.raw(",\"socket\":")
        w.string(daemon.controlServer?.listener.path ?? "")
        w.raw(",\"uptime_ms\":")
        w.int(daemon.controlServer.map { now.duration(since: $0.startedAt).milliseconds } ?? 0)
        w.raw(",\"shutting_down\":")
        w.raw(daemon.supervision.shuttingDown ? "true" : "false")
        w.raw("},\"summary\":")
        w.string(StatusSummary.line(snapshots))
        w.raw(",\"counts\":{")
        var counts: [InstanceState: Int] = [:]
        for snapshot in snapshots { counts[snapshot.state, default: 0] += 1 }
        for (index, state) in stateOrder.enumerated() {
            if index > 0 { w.raw(",") }
            w.string(state.rawValue)
            w.raw(":")
            w.int(Int64(counts[state] ?? 0))
        }
        w.raw("},\"instances\":[")
        let wallOffset = WallClock.wallNanoseconds(of: now) - Int64(bitPattern: now.nanoseconds)
        for (index, s) in snapshots.enumerated() {
            if index > 0 { w.raw(",") }
            w.raw("{\"instance\":")
            w.string(s.id.description)
            w.raw(",\"worker\":")
            w.string(s.id.worker)
            w.raw(",\"index\":")
            w.int(Int64(s.id.index))
            w.raw(",\"state\":")
            w.string(s.state.rawValue)
            w.raw(",\"pid\":")
            if let pid = s.pid { w.int(Int64(pid)) } else { w.raw("null") }
            w.raw(",\"started_at\":")
            if let started = s.startedAt {
                w.string(WallClockText.iso8601(Int64(bitPattern: started.nanoseconds) + wallOffset))
            } else {
                w.raw("null")
            }
            w.raw(",\"uptime_ms\":")
            if let started = s.startedAt { w.int(now.duration(since: started).milliseconds) } else { w.raw("null") }
            w.raw(",\"restarts\":")
            w.int(Int64(s.restarts))
            w.raw(",\"last_class\":")
            if let last = s.lastClass { w.string(last.rawValue) } else { w.raw("null") }
            w.raw(",\"status_text\":")
            if let text = s.statusText { w.string(text) } else { w.raw("null") }
            w.raw(",\"next_attempt_in_ms\":")
            if let next = s.nextAttemptAt { w.int(next.duration(since: now).milliseconds) } else { w.raw("null") }
            w.raw(",\"wanted\":")
            w.raw(s.wanted ? "true" : "false")
            w.raw(",\"notify_rejected\":")
            w.int(Int64(daemon.slots[s.id]?.rejectedNotifications ?? 0))
            w.raw("}")
        }
        w.raw("]}}\n")
        return w.bytes
    }

    /// The order of `counts` (and of the CLI's summary): most interesting last.
    static let stateOrder: [InstanceState] = [.running, .starting, .waiting, .stopping, .stopped, .backoff, .open, .failed, .quarantined]
}

/// Compact JSON written by hand: keys are literals, values are escaped as JSONWriter does.
struct CompactWriter {
    private(set) var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ prebuilt: [UInt8]) {
        bytes.append(contentsOf: prebuilt)
    }

    mutating func int(_ value: Int64) {
        if value < 0 { bytes.append(0x2D) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
                count += 1
            } while magnitude > 0
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, … or `\u00XX`.
    mutating func string(_ text: String) {
        var text = text
        bytes.append(0x22)
        text.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte == 0x22 || byte == 0x5C || byte < 0x20 else { continue }
                if start < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index])) }
                start = index + 1
                switch byte {
                case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
                case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
                case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
                }
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
        bytes.append(0x22)
    }
}
