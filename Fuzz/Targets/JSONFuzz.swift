import BulkheadJSON

/// The JSON parser (control requests, backtrace reports, crash reports read back): any input
/// parses or throws; a parsed value writes out and parses back to itself, compact and pretty.
enum JSONFuzz {
    @Sendable static func run(_ bytes: UnsafeRawBufferPointer) {
        if let value = try? JSON(parsing: bytes) {
            for format in [JSONFormat.compact, .pretty] {
                let written = value.encodedBytes(format)
                guard let again = try? JSON(parsing: written) else {
                    preconditionFailure("written JSON does not parse: \(String(decoding: written, as: UTF8.self))")
                }
                precondition(again == value, "JSON changed by a round trip")
            }
        }
        _ = try? JSONStringBytes.decode(bytes)
        _ = try? JSON(parsing: bytes, limits: JSONLimits(maxDepth: 4, maxInputBytes: 512, maxStringBytes: 16, maxElements: 20, maxNumberLength: 8))
    }
}
