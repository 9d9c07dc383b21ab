import BulkheadPolicy

/// Parses one sd_notify datagram (`KEY=VALUE` lines) into what policy understands. Unknown
/// keys are ignored, as systemd does; a datagram is hostile input, so nothing here can trap.
enum NotifyMessage {
    static let maxDatagram = 4096

    struct Parsed: Equatable {
        var notifications: [Supervision.Notification] = []
        var barrier = false
        var errno: Int32?
    }

    static func parse(_ bytes: ArraySlice<UInt8>) -> Parsed {
        var parsed = Parsed()
        for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            guard let eq = rawLine.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let key = String(decoding: rawLine[rawLine.startIndex..<eq], as: UTF8.self)
            let value = String(decoding: rawLine[(eq + 1)...], as: UTF8.self)
            switch key {
            case "READY" where value == "1":
                parsed.notifications.append(.ready)
            case "STATUS":
                parsed.notifications.append(.status(String(value.prefix(512))))
            case "STOPPING" where value == "1":
                parsed.notifications.append(.stopping)
            case "RELOADING" where value == "1":
                parsed.notifications.append(.reloading)
            case "WATCHDOG" where value == "1":
                parsed.notifications.append(.watchdog)
            case "WATCHDOG" where value == "trigger":
                parsed.notifications.append(.watchdogTrigger)
            case "EXTEND_TIMEOUT_USEC":
                if let usec = Int64(value), usec > 0, usec < 86_400_000_000 {
                    parsed.notifications.append(.extendTimeout(.microseconds(usec)))
                }
            case "BARRIER" where value == "1":
                parsed.barrier = true
            case "ERRNO":
                parsed.errno = Int32(value)
            default:
                break
            }
        }
        return parsed
    }
}
