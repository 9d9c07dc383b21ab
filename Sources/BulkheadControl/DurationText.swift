/// How the status table and the CLI write a span of time, as short as a column allows.
public enum DurationText {
    /// `850ms`, `3.5s`, `37s`, `4m12s`, `2h05m`, `3d04h`.
    public static func short(milliseconds ms: Int64) -> String {
        if ms < 1000 { return "\(max(ms, 0))ms" }
        let s = ms / 1000
        if s < 60 { return ms < 10_000 ? "\(s).\((ms % 1000) / 100)s" : "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(twoDigits(s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(twoDigits((s / 60) % 60))m" }
        return "\(s / 86400)d\(twoDigits((s / 3600) % 24))h"
    }

    /// `7` → `07`.
    public static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
