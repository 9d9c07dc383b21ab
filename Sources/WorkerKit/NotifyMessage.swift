/// One sd_notify datagram: `KEY=VALUE` assignments separated by newlines (sd_notify(3)).
///
/// Values are made single-line (a newline would start a new assignment): control characters
/// become `LineText` escapes. Fields whose key is not `[A-Z0-9_]+` are left out.
public struct NotifyMessage: Sendable, Hashable, CustomStringConvertible {
    public struct Field: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var fields: [Field]

    public init(_ fields: [Field] = []) {
        self.fields = fields.filter { Self.isValidKey($0.key) }
    }

    /// `READY=1`: startup is finished.
    public static let ready = NotifyMessage([Field("READY", "1")])
    /// `STOPPING=1`: shutdown has begun.
    public static let stopping = NotifyMessage([Field("STOPPING", "1")])
    /// `WATCHDOG=1`: a keep-alive ping.
    public static let watchdog = NotifyMessage([Field("WATCHDOG", "1")])

    /// `STATUS=text`: a one-line status shown by `bulkhead status`.
    public static func status(_ text: String) -> NotifyMessage {
        NotifyMessage([Field("STATUS", text)])
    }

    /// `RELOADING=1` with `MONOTONIC_USEC` (systemd ≥ 253 wants both); send `READY=1` when the
    /// reload is done.
    public static func reloading(monotonicMicroseconds: UInt64) -> NotifyMessage {
        NotifyMessage([Field("RELOADING", "1"), Field("MONOTONIC_USEC", String(monotonicMicroseconds))])
    }

    /// This message with one more field.
    public func adding(_ key: String, _ value: String) -> NotifyMessage {
        NotifyMessage(fields + [Field(key, value)])
    }

    /// The datagram: every assignment followed by `\n`.
    public var encoded: [UInt8] {
        var line = GrowingLine(reservingCapacity: 32)
        for field in fields {
            for byte in field.key.utf8 {
                _ = line.append(byte: byte)
            }
            _ = line.append(byte: UInt8(ascii: "="))
            _ = LineText.appendText(field.value, to: &line)
            _ = line.append(byte: UInt8(ascii: "\n"))
        }
        return line.bytes
    }

    public var description: String { String(decoding: encoded, as: UTF8.self) }

    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty
            && key.utf8.allSatisfy { byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
            }
    }
}
