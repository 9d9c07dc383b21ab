import BulkheadPolicy

/// An event as JSON (SPEC §11): the journal entry's fields, lower-case, with its time and its
/// place in the stream —
/// `{"time","seq","event","worker","instance","pid","class","exit_code"|"signal","restarts",
/// "crash_id","message","priority", …}` and any other field the event has (`rule`,
/// `fingerprint`, `headline`, `detect_latency_us`, `backoff_ms`, `alert`, `hook`, `command`, …).
enum EventJSON {
    /// Fields whose values are numbers in JSON (the journal has only text).
    static let integerFields: Set<String> = [
        "EXIT_CODE", "RESTARTS", "BACKOFF_MS", "DETECT_LATENCY_US", "SUPPRESSED", "COUNT", "LOST",
    ]
    /// Written in their fixed place, before the rest.
    static let leadingFields: [String] = ["CLASS", "EXIT_CODE", "SIGNAL", "RESTARTS", "CRASH_ID"]

    /// The object, without a newline.
    static func write(_ record: EventRecord, into w: inout CompactWriter) {
        w.raw("{\"time\":")
        w.iso8601(record.wallNanoseconds)
        w.raw(",\"seq\":")
        w.int(Int64(clamping: record.sequence))
        w.raw(",\"event\":")
        w.string(record.event.kind.rawValue)
        if let worker = record.worker {
            w.raw(",\"worker\":")
            w.string(worker)
        }
        if let instance = record.event.instance {
            w.raw(",\"instance\":")
            w.string(instance.description)
        }
        if let pid = record.event.pid {
            w.raw(",\"pid\":")
            w.int(Int64(pid))
        }
        let all = record.event.fields + record.extra
        var written: Set<String> = ["WORKER"]
        for name in leadingFields {
            guard let field = all.first(where: { $0.name == name }) else { continue }
            written.insert(name)
            member(field, into: &w)
        }
        w.raw(",\"message\":")
        w.string(record.event.message)
        w.raw(",\"priority\":")
        w.int(Int64(record.event.priority))
        for field in all where written.insert(field.name).inserted {
            member(field, into: &w)
        }
        w.byte(0x7D)
    }

    static func line(_ record: EventRecord) -> [UInt8] {
        var w = CompactWriter(capacity: 512)
        write(record, into: &w)
        w.byte(0x0A)
        return w.bytes
    }

    private static func member(_ field: SupervisorEvent.Field, into w: inout CompactWriter) {
        w.raw(",\"")
        w.plain(field.name.lowercased())
        w.raw("\":")
        if integerFields.contains(field.name), let number = Int64(field.value) {
            w.int(number)
        } else {
            w.string(field.value)
        }
    }
}
