import Glibc

/// Formatting wall-clock time without Foundation.
package enum WallClockText {
    package static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// `14:03:27.412` in local time.
    package static func timeOfDay(_ wallNanoseconds: Int64) -> String {
        var seconds = time_t(wallNanoseconds / 1_000_000_000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let ms = Int((wallNanoseconds / 1_000_000) % 1000)
        return "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(ms, 3))"
    }

    /// `2026-11-29T14:03:27.412Z` (UTC, RFC 3339).
    package static func iso8601(_ wallNanoseconds: Int64) -> String {
        let (t, ms) = utc(wallNanoseconds)
        return "\(pad(Int(t.tm_year) + 1900, 4))-\(pad(Int(t.tm_mon) + 1, 2))-\(pad(Int(t.tm_mday), 2))T"
            + "\(pad(Int(t.tm_hour), 2)):\(pad(Int(t.tm_min), 2)):\(pad(Int(t.tm_sec), 2)).\(pad(ms, 3))Z"
    }

    /// `20261129-140327-412` (UTC): sorts by time, safe in file names.
    package static func compact(_ wallNanoseconds: Int64) -> String {
        let (t, ms) = utc(wallNanoseconds)
        return "\(pad(Int(t.tm_year) + 1900, 4))\(pad(Int(t.tm_mon) + 1, 2))\(pad(Int(t.tm_mday), 2))-"
            + "\(pad(Int(t.tm_hour), 2))\(pad(Int(t.tm_min), 2))\(pad(Int(t.tm_sec), 2))-\(pad(ms, 3))"
    }

    /// The broken-down UTC time and the milliseconds.
    static func utc(_ wallNanoseconds: Int64) -> (tm, Int) {
        var seconds = time_t(wallNanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return (parts, Int((wallNanoseconds / 1_000_000) % 1000))
    }

    package static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
