import Logging

/// One log record as one line:
///
///     <6>charged card order=42 trace_id=abc
///     <3>[db] query failed error="connection reset" table=orders
///
/// `<N>` is the syslog priority (``SyslogPriority``), then the label in brackets when asked
/// for, the message with control characters escaped (a multi-line message stays one line),
/// then the metadata sorted by key as `key=value` (`LineText` quoting), then `error=` when the
/// record carries an error. Arrays render as `[a,b]`, dictionaries as `{k=v,…}` sorted by key.
enum LogLineFormatter {
    static func format(
        level: Logger.Level,
        label: String?,
        message: String,
        metadata: Logger.Metadata,
        error: (any Error)?
    ) -> [UInt8] {
        var line = GrowingLine(reservingCapacity: 96 + message.utf8.count)
        _ = LineText.appendText(SyslogPriority(level).prefix, to: &line)
        if let label {
            _ = LineText.appendText("[\(label)] ", to: &line)
        }
        _ = LineText.appendText(message, to: &line)
        for key in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            _ = line.append(byte: UInt8(ascii: " "))
            _ = LineText.appendField(key: key, value: render(metadata[key]!), to: &line)
        }
        if let error {
            _ = line.append(byte: UInt8(ascii: " "))
            _ = LineText.appendField(key: "error", value: String(describing: error), to: &line)
        }
        _ = line.append(byte: UInt8(ascii: "\n"))
        return line.bytes
    }

    static func render(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text):
            text
        case .stringConvertible(let convertible):
            convertible.description
        case .array(let values):
            "[" + values.map(render).joined(separator: ",") + "]"
        case .dictionary(let entries):
            "{"
                + entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
                .map { "\($0)=\(render(entries[$0]!))" }.joined(separator: ",") + "}"
        }
    }
}
