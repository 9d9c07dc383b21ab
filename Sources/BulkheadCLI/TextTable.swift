import BulkheadControl
import Glibc

/// Columns a person reads at a glance: left-aligned, padded to the widest cell, the last
/// column cut at the terminal's edge.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) {
        self.header = header
    }

    mutating func add(_ row: [String]) {
        rows.append(row)
    }

    func render(width: Int? = StatusPrinter.terminalWidth) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        var out = ""
        out.reserveCapacity((rows.count + 1) * 100)
        for row in [header] + rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                if index == row.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[index] - cell.count + 2)
                }
            }
            while line.last == " " { line.removeLast() }
            if let width, line.count > width, width > 1 {
                line = String(line.prefix(width - 1)) + "…"
            }
            out += line
            out += "\n"
        }
        return out
    }
}

enum TextFormat {
    /// `2026-11-29T14:03:27.412Z` → the same moment in local time, `2026-11-29 15:03:27`
    /// (`withDate: false`: `15:03:27.412`). The input unchanged when it does not parse.
    static func localTime(_ iso: String, withDate: Bool = true) -> String {
        let bytes = Array(iso.utf8)
        func number(_ from: Int, _ count: Int) -> Int32? {
            guard from + count <= bytes.count else { return nil }
            var value: Int32 = 0
            for byte in bytes[from..<(from + count)] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int32(byte - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return iso }
        let millis = number(20, 3) ?? 0
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        var seconds = timegm(&parts)
        var local = tm()
        localtime_r(&seconds, &local)
        let time = "\(DurationText.twoDigits(Int64(local.tm_hour))):\(DurationText.twoDigits(Int64(local.tm_min))):\(DurationText.twoDigits(Int64(local.tm_sec)))"
        if !withDate {
            let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
            return time + "." + ms
        }
        return "\(local.tm_year + 1900)-\(DurationText.twoDigits(Int64(local.tm_mon + 1)))-\(DurationText.twoDigits(Int64(local.tm_mday))) " + time
    }
}
