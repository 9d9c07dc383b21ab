/// Masks the parts of a crash message that change between runs of the same bug, for the
/// fingerprint: `index out of range [5] with length 3` and `… [9] with length 4` are one bug, and
/// so are `cannot load /etc/orders-9f3a/settings.toml` and `… /etc/orders-77b1/settings.toml`.
///
/// - `0x…` hex and UUIDs become `#`;
/// - a word (letters, digits, `_`) holding any digit becomes `#`: counts, pids, ports, ids,
///   hashes and versions alike (`tcache 2`, `user-1234`, `req_8f3kd92`);
/// - an absolute path keeps only its last component (the directory is a deployment detail).
///
/// The result is capped, so a message that embeds a whole document hashes its beginning.
public enum CrashTextMask {
    public static let maxBytes = 200

    public static func mask<S: StringProtocol>(_ text: S) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(min(bytes.count, maxBytes + 8))
        var i = 0
        while i < bytes.count && out.count < maxBytes {
            let atTokenStart = i == 0 || !isWordByte(bytes[i - 1])
            if atTokenStart, let end = uuidEnd(bytes, i) {
                out.append(UInt8(ascii: "#"))
                i = end
            } else if atTokenStart, bytes[i] == UInt8(ascii: "0"), i + 2 < bytes.count,
                      bytes[i + 1] == UInt8(ascii: "x") || bytes[i + 1] == UInt8(ascii: "X"), isHex(bytes[i + 2]) {
                out.append(UInt8(ascii: "#"))
                i += 2
                while i < bytes.count && isHex(bytes[i]) { i += 1 }
            } else if bytes[i] == UInt8(ascii: "/"), i == 0 || opensPath(bytes[i - 1]), let last = lastComponentStart(bytes, i) {
                i = last
            } else if isWordByte(bytes[i]) {
                var end = i
                var hasDigit = false
                while end < bytes.count && isWordByte(bytes[end]) {
                    if bytes[end] >= 0x30 && bytes[end] <= 0x39 { hasDigit = true }
                    end += 1
                }
                if hasDigit { out.append(UInt8(ascii: "#")) } else { out.append(contentsOf: bytes[i..<end]) }
                i = end
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
    }

    static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    /// A path starts after a space, a quote, a bracket, `=` or `:`, not inside a word (`a/b`).
    static func opensPath(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x22, 0x27, 0x60, 0x28, 0x5B, 0x7B, 0x3C, 0x3D, 0x3A: return true
        default: return false
        }
    }

    /// Where the last component of the absolute path at `start` begins, when the path has a
    /// directory (`/etc/app/x.toml`; a lone `/x` is not treated as a path).
    static func lastComponentStart(_ bytes: [UInt8], _ start: Int) -> Int? {
        var end = start
        var lastSlash = start
        while end < bytes.count, !endsPath(bytes[end]) {
            if bytes[end] == UInt8(ascii: "/") { lastSlash = end }
            end += 1
        }
        return lastSlash > start ? lastSlash + 1 : nil
    }

    static func endsPath(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x22, 0x27, 0x60, 0x29, 0x5D, 0x7D, 0x3E, 0x2C, 0x3B: return true
        default: return false
        }
    }

    /// The end of an 8-4-4-4-12 hex UUID starting at `start` and not running on into a word.
    static func uuidEnd(_ bytes: [UInt8], _ start: Int) -> Int? {
        let groups = [8, 4, 4, 4, 12]
        var i = start
        for (n, length) in groups.enumerated() {
            for _ in 0..<length {
                guard i < bytes.count, isHex(bytes[i]) else { return nil }
                i += 1
            }
            if n < groups.count - 1 {
                guard i < bytes.count, bytes[i] == UInt8(ascii: "-") else { return nil }
                i += 1
            }
        }
        return i < bytes.count && isWordByte(bytes[i]) ? nil : i
    }
}
