import BulkheadPolicy
import Glibc

/// How the loop thread hands journal entries to the journal writer thread: records packed
/// into one byte buffer, so a worker line costs the loop a few appends (no String, no
/// allocation once the buffer has grown) and the writer turns each record into the `iovec`s
/// of one `sd_journal_sendv` call, pointing straight into the buffer.
///
/// A line:  `L` priority:u8 stream:u8 labelLength:u16 messageLength:u32 label `MESSAGE=`text
/// An event: `E` fieldCount:u16, then per field length:u32 `NAME=value`
/// (integers little-endian, unaligned).
enum JournalRecord {
    static let lineTag: UInt8 = 0x4C
    static let eventTag: UInt8 = 0x45
    static let messagePrefix: [UInt8] = Array("MESSAGE=".utf8)
    static let lineHeader = 9

    struct Line {
        var priority: Int
        var stream: OutputStream
        /// `api:0`
        var label: UnsafeRawBufferPointer
        /// `MESSAGE=text`, ready to be one iovec.
        var message: UnsafeRawBufferPointer
    }

    /// Every field of an event, each `NAME=value`, ready to be one iovec.
    struct Event {
        var fields: [UnsafeRawBufferPointer]
    }

    enum Record {
        case line(Line)
        case event(Event)
    }

    static func appendLine(_ buffer: inout [UInt8], label: String, stream: OutputStream, priority: Int, text: UnsafeRawBufferPointer) {
        var label = label
        label.withUTF8 { labelBytes in
            let labelLength = min(labelBytes.count, Int(UInt16.max))
            let messageLength = UInt32(truncatingIfNeeded: messagePrefix.count + text.count)
            buffer.append(lineTag)
            buffer.append(UInt8(truncatingIfNeeded: priority))
            buffer.append(stream == .stdout ? 0 : 1)
            appendInteger(&buffer, UInt16(labelLength))
            appendInteger(&buffer, messageLength)
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: labelBytes[0..<labelLength]))
        }
        buffer.append(contentsOf: messagePrefix)
        buffer.append(contentsOf: text)
    }

    static func appendEvent(_ buffer: inout [UInt8], fields: [String]) {
        let count = min(fields.count, Int(UInt16.max))
        buffer.append(eventTag)
        appendInteger(&buffer, UInt16(count))
        for var field in fields.prefix(count) {
            field.withUTF8 { bytes in
                appendInteger(&buffer, UInt32(truncatingIfNeeded: bytes.count))
                buffer.append(contentsOf: bytes)
            }
        }
    }

    static func appendInteger<T: FixedWidthInteger>(_ buffer: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    static func readInteger<T: FixedWidthInteger>(_ batch: UnsafeRawBufferPointer, _ offset: Int, as: T.Type) -> T {
        T(littleEndian: batch.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Calls `body` for every record with its byte range. Stops at a truncated record (which
    /// the loop never writes; this is only a guard).
    static func walk(_ batch: UnsafeRawBufferPointer, _ body: (Record, Range<Int>) -> Void) {
        var offset = 0
        while offset < batch.count {
            let start = offset
            switch batch[offset] {
            case lineTag:
                guard offset + lineHeader <= batch.count else { return }
                let priority = Int(batch[offset + 1])
                let stream: OutputStream = batch[offset + 2] == 0 ? .stdout : .stderr
                let labelLength = Int(readInteger(batch, offset + 3, as: UInt16.self))
                let messageLength = Int(readInteger(batch, offset + 5, as: UInt32.self))
                offset += lineHeader
                guard offset + labelLength + messageLength <= batch.count else { return }
                let label = UnsafeRawBufferPointer(rebasing: batch[offset..<(offset + labelLength)])
                offset += labelLength
                let message = UnsafeRawBufferPointer(rebasing: batch[offset..<(offset + messageLength)])
                offset += messageLength
                body(.line(Line(priority: priority, stream: stream, label: label, message: message)), start..<offset)
            case eventTag:
                guard offset + 3 <= batch.count else { return }
                let count = Int(readInteger(batch, offset + 1, as: UInt16.self))
                offset += 3
                var fields: [UnsafeRawBufferPointer] = []
                fields.reserveCapacity(count)
                for _ in 0..<count {
                    guard offset + 4 <= batch.count else { return }
                    let length = Int(readInteger(batch, offset, as: UInt32.self))
                    offset += 4
                    guard offset + length <= batch.count else { return }
                    fields.append(UnsafeRawBufferPointer(rebasing: batch[offset..<(offset + length)]))
                    offset += length
                }
                body(.event(Event(fields: fields)), start..<offset)
            default:
                return
            }
        }
    }
}

/// The journal fields of a supervisor event (SPEC §6).
enum JournalEventFields {
    /// `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER=bulkhead`, `MESSAGE_ID`, `BULKHEAD_EVENT`,
    /// `BULKHEAD_WORKER`/`BULKHEAD_INSTANCE`/`BULKHEAD_PID` when known, then every extra field
    /// as `BULKHEAD_<NAME>` (`CLASS`, `SIGNAL`, `EXIT_CODE`, `RESTARTS`, `CRASH_ID`, …).
    static func make(_ event: SupervisorEvent, extra: [SupervisorEvent.Field]) -> [String] {
        let all = event.fields + extra
        let subject = event.instance.map { "\($0)" } ?? all.first { $0.name == "WORKER" }?.value ?? "bulkhead"
        let deathClass = all.first { $0.name == "CLASS" }?.value
        var fields = [
            "MESSAGE=\(subject) \(event.kind.rawValue): \(event.message)",
            "PRIORITY=\(min(max(event.priority, 0), 7))",
            "SYSLOG_IDENTIFIER=bulkhead",
            "MESSAGE_ID=\(JournalMessageID.of(event.kind, deathClass: deathClass))",
            "BULKHEAD_EVENT=\(event.kind.rawValue)",
        ]
        if let instance = event.instance {
            fields.append("BULKHEAD_WORKER=\(instance.worker)")
            fields.append("BULKHEAD_INSTANCE=\(instance)")
        }
        if let pid = event.pid { fields.append("BULKHEAD_PID=\(pid)") }
        var seen = Set<String>()
        for field in all {
            let name = fieldName(field.name)
            guard seen.insert(name).inserted else { continue }
            fields.append("\(name)=\(field.value)")
        }
        return fields
    }

    /// `BULKHEAD_` + the name in journald's alphabet (A–Z, 0–9, `_`; at most 64 bytes).
    static func fieldName(_ name: String) -> String {
        let cleaned = name.uppercased().unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "A"..."Z", "0"..."9", "_": return Character(scalar)
            default: return "_"
            }
        }
        return String(("BULKHEAD_" + String(cleaned)).prefix(64))
    }
}
