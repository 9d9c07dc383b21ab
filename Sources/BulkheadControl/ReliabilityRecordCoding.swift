import BulkheadJSON
import BulkheadPolicy

/// `state_dir/reliability.jsonl`, one record a line, and the `report` reply that carries them:
/// `{"k":"death","ns":…,"instance":"api:0","class":"crash","fingerprint":…,"headline":…,
/// "crash_id":…,"detect_us":…,"stable_ms":…}`, `{"k":"ready",…}`, `{"k":"failed",…}`,
/// `{"k":"quarantined",…}`, `{"k":"command",…,"command":"reset"}`. Unknown keys are ignored, so
/// a newer daemon's history still reads.
public enum ReliabilityRecordCoding {
    public static func encode(_ r: ReliabilityRecord) -> JSON {
        var o: [(String, JSON)] = [("k", .string(r.kind.rawValue)), ("ns", .int(r.wallNanoseconds)), ("instance", .string(r.instance.description))]
        if let v = r.deathClass { o.append(("class", .string(v.rawValue))) }
        if let v = r.fingerprint { o.append(("fingerprint", .string(v))) }
        if let v = r.headline { o.append(("headline", .string(v))) }
        if let v = r.crashID { o.append(("crash_id", .string(v))) }
        if let v = r.detectMicroseconds { o.append(("detect_us", .int(v))) }
        if let v = r.stableAfterMilliseconds { o.append(("stable_ms", .int(v))) }
        if let v = r.command { o.append(("command", .string(v))) }
        return .object(o)
    }

    public static func line(_ r: ReliabilityRecord) -> [UInt8] {
        encode(r).encodedBytes(.compact)
    }

    public static func decode(_ json: JSON) -> ReliabilityRecord? {
        guard let kind = json["k"]?.string.flatMap(ReliabilityRecord.Kind.init(rawValue:)), let ns = json["ns"]?.int,
              let instance = json["instance"]?.string.flatMap(InstanceID.init(parsing:)) else { return nil }
        return ReliabilityRecord(
            kind: kind, wallNanoseconds: ns, instance: instance,
            deathClass: json["class"]?.string.flatMap(DeathClass.init(rawValue:)),
            fingerprint: json["fingerprint"]?.string, headline: json["headline"]?.string, crashID: json["crash_id"]?.string,
            detectMicroseconds: json["detect_us"]?.int, stableAfterMilliseconds: json["stable_ms"]?.int, command: json["command"]?.string
        )
    }
}
