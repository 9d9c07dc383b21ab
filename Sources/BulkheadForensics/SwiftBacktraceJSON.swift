import BulkheadJSON

/// Reads the backtracer's JSON report (`SWIFT_BACKTRACE=format=json`; one line of JSON, schema
/// in docs/notes/backtracer.md §1). The bytes come from a file the worker's own child wrote, or
/// from the worker's stderr: hostile input, parsed under limits, never trusted to have a shape.
enum SwiftBacktraceJSON {
    /// Nil when the bytes are not a JSON object (cut short, garbage, empty). A valid object of an
    /// unexpected shape gives a backtrace with whatever could be read from it.
    static func parse(_ bytes: some Collection<UInt8>) -> SwiftBacktrace? {
        guard let json = try? JSON(parsing: bytes, limits: .largeDocument), json.object != nil else { return nil }
        let threads = (json["threads"]?.array ?? []).map(thread)
        return SwiftBacktrace(description: json["description"]?.string,
                              faultAddress: json["faultAddress"]?.string.flatMap(hexAddress),
                              threads: threads)
    }

    /// True for a line that holds a report the backtracer wrote to stderr (no usable
    /// `output-to`): `{ "timestamp": "…", "kind": "crashReport", …`. A cheap test, so a tail of
    /// ordinary lines costs nothing.
    static func startsReport(_ line: String) -> Bool {
        line.hasPrefix("{") && line.utf8.count > 40 && line.prefix(120).contains("\"kind\": \"crashReport\"")
    }

    private static func thread(_ json: JSON) -> SwiftBacktrace.Thread {
        var frames: [SwiftBacktrace.Frame] = []
        var omitted = 0
        for entry in json["frames"]?.array ?? [] {
            switch entry["kind"]?.string {
            case "omittedFrames":
                omitted += Int(clamping: entry["count"]?.int ?? 0)
            case "truncated", nil:
                continue
            case .some:
                frames.append(frame(entry))
            }
        }
        return SwiftBacktrace.Thread(name: json["name"]?.string, crashed: json["crashed"]?.bool ?? false, frames: frames,
                                     omittedFrames: omitted,
                                     stackPointer: json["registers"]?["rsp"]?.string.flatMap(hexAddress)
                                         ?? json["registers"]?["sp"]?.string.flatMap(hexAddress))
    }

    private static func frame(_ json: JSON) -> SwiftBacktrace.Frame {
        let symbol = json["symbol"]?.string
        let described = json["description"]?.string ?? symbol ?? json["address"]?.string ?? "?"
        let location = json["sourceLocation"]
        let file = location?["file"]?.string
        let line = location?["line"]?.int.flatMap { $0 > 0 ? Int(exactly: $0) : nil }
        return SwiftBacktrace.Frame(
            function: withoutOffset(described),
            symbol: symbol,
            image: json["image"]?.string,
            file: file.flatMap { $0.hasPrefix("//<") || $0.hasPrefix("<") || $0.isEmpty ? nil : $0 },
            line: line,
            inlined: json["inlined"]?.bool ?? false,
            system: json["system"]?.bool ?? false,
            thunk: json["thunk"]?.bool ?? false,
            runtimeFailure: json["runtimeFailure"]?.bool ?? false
        )
    }

    /// `static RuntimeTraps.fatalError(_:) + 141` → `static RuntimeTraps.fatalError(_:)`. The
    /// offset moves whenever the function's code changes, so nothing kept may hold it.
    static func withoutOffset(_ description: String) -> String {
        guard let plus = description.ranges(of: " + ").last else { return description }
        let digits = description[plus.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigitCharacter) else { return description }
        return String(description[..<plus.lowerBound])
    }

    /// `0x00007ffe50efaff0` → the number; nil for anything else.
    static func hexAddress(_ text: String) -> UInt64? {
        guard text.hasPrefix("0x") || text.hasPrefix("0X") else { return nil }
        return UInt64(text.dropFirst(2), radix: 16)
    }
}

extension Character {
    /// 0-9 only (`isNumber` accepts other scripts' digits and fractions).
    var isASCIIDigitCharacter: Bool { self >= "0" && self <= "9" }
}
