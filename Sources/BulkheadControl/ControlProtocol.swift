import BulkheadJSON

/// The control socket's wire format, shared by the daemon and the CLI.
///
/// Newline-delimited JSON over a Unix stream socket. A client sends one request per line and
/// reads one reply line per request, in order; a request is handled only once the reply to the
/// previous one has been written out, so a client that pipelines without reading stalls itself,
/// not the daemon.
///
///     → {"v":1,"cmd":"status","args":{"names":["api"]}}
///     ← {"v":1,"ok":true,"result":{…}}
///     ← {"v":1,"ok":false,"error":{"code":"unknown_name","message":"…","details":[…]}}
///
/// `logs` with `"follow":true` answers as usual, then keeps the connection for events:
///
///     ← {"v":1,"event":"line","line":{"instance":"api:0","stream":"stdout","at":"…","text":"…"}}
///     ← {"v":1,"event":"dropped","lines":120}      the client read too slowly; lines were lost
///     ← {"v":1,"event":"end","reason":"…"}          the daemon is going away
///
/// Limits (each a reason in a comment where it is enforced): a request line is at most
/// `maxRequestBytes`; it must be complete `requestDeadline` after its first byte; a connection
/// with no request in flight is closed after `idleTimeout`.
public enum ControlProtocol {
    /// Bumped on any change a client of the previous version would misread.
    public static let version: Int64 = 1
    /// A request is a command name and a few names: 64 KiB is generous, and bounds what one
    /// connection can make the daemon buffer.
    public static let maxRequestBytes = 64 << 10
    /// From the first byte of a request to its newline (slow-loris clients).
    public static let requestDeadline: Duration = .seconds(5)
    /// A connection with no request in flight and nothing to receive.
    public static let idleTimeout: Duration = .seconds(60)

    /// `{"v":1,"cmd":…,"args":{…}}` and its newline.
    public static func encodeRequest(_ command: String, _ arguments: [(String, JSON)] = []) -> [UInt8] {
        var bytes = JSON.object([("v", .int(version)), ("cmd", .string(command)), ("args", .object(arguments))]).encodedBytes(.compact)
        bytes.append(0x0A)
        return bytes
    }

    /// `{"v":1,"ok":true,"result":…}` and its newline.
    public static func encodeResult(_ result: JSON) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        appendResult(result, to: &bytes)
        return bytes
    }

    public static func appendResult(_ result: JSON, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: resultPrefix)
        result.encode(into: &bytes, format: .compact)
        bytes.append(contentsOf: [0x7D, 0x0A])   // }\n
    }

    /// The bytes before a result's value: a reply may splice a value it did not build (a crash
    /// report streamed from its file).
    public static let resultPrefix: [UInt8] = Array(#"{"v":1,"ok":true,"result":"#.utf8)

    public static func encodeError(_ failure: ControlFailure) -> [UInt8] {
        var error: [(String, JSON)] = [("code", .string(failure.code.rawValue)), ("message", .string(failure.message))]
        if !failure.details.isEmpty { error.append(("details", .array(failure.details.map(JSON.string)))) }
        var bytes = JSON.object([("v", .int(version)), ("ok", false), ("error", .object(error))]).encodedBytes(.compact)
        bytes.append(0x0A)
        return bytes
    }

    public static func encodeEvent(_ name: String, _ members: [(String, JSON)]) -> [UInt8] {
        var bytes = JSON.object([("v", .int(version)), ("event", .string(name))] + members).encodedBytes(.compact)
        bytes.append(0x0A)
        return bytes
    }
}

/// Why a request failed; `code` is stable (scripts and the CLI's exit code read it), `message`
/// is one sentence for a person, `details` one item per line (every config error of a reload).
public struct ControlFailure: Error, Equatable, Sendable {
    public enum Code: String, Sendable, CaseIterable {
        /// Not JSON, not an object, a field of the wrong type.
        case badRequest = "bad_request"
        /// A request line longer than `maxRequestBytes`.
        case tooLarge = "too_large"
        /// `v` is not a version this daemon speaks.
        case unsupportedVersion = "unsupported_version"
        case unknownCommand = "unknown_command"
        /// Arguments missing or invalid (the CLI exits 2).
        case badArguments = "bad_arguments"
        /// A worker, instance or crash id that does not exist.
        case unknownName = "unknown_name"
        case notFound = "not_found"
        /// The peer is not root, bulkhead's user or a member of `control.group` (CLI exit 4).
        case permissionDenied = "permission_denied"
        /// The request was not finished in time.
        case timeout
        /// Too many connections.
        case busy
        /// Some instance refused the command (e.g. `start` on a quarantined one).
        case refused
        /// `reload` with an invalid config: nothing changed.
        case configInvalid = "config_invalid"
        case shuttingDown = "shutting_down"
        case `internal`
    }

    public var code: Code
    public var message: String
    public var details: [String]

    public init(_ code: Code, _ message: String, details: [String] = []) {
        self.code = code
        self.message = message
        self.details = details
    }

    /// SPEC §5 exit codes: 2 usage, 4 permission denied, 1 anything else that failed.
    public var exitCode: Int32 {
        switch code {
        case .permissionDenied: return 4
        case .badArguments: return 2
        case .badRequest, .tooLarge, .unsupportedVersion, .unknownCommand, .unknownName, .notFound, .timeout, .busy,
             .refused, .configInvalid, .shuttingDown, .internal:
            return 1
        }
    }
}

/// A parsed request line.
public struct ControlRequest: Sendable {
    public var command: String
    public var arguments: JSONObject

    /// Validates the envelope; the command's own arguments are checked by the command.
    public static func parse(_ line: UnsafeRawBufferPointer) -> Result<ControlRequest, ControlFailure> {
        let value: JSON
        do {
            // The line is at most maxRequestBytes; the default limits bound depth and count.
            value = try JSON(parsing: line, limits: JSONLimits(maxDepth: 8, maxInputBytes: ControlProtocol.maxRequestBytes, maxElements: 10_000))
        } catch {
            return .failure(ControlFailure(.badRequest, "the request is not valid JSON (\(error)); send one JSON object per line"))
        }
        guard case .object(let object) = value else {
            return .failure(ControlFailure(.badRequest, "the request must be a JSON object with \"v\", \"cmd\" and \"args\""))
        }
        guard let version = object["v"]?.int else {
            return .failure(ControlFailure(.badRequest, "the request has no protocol version \"v\" (this daemon speaks \(ControlProtocol.version))"))
        }
        guard version == ControlProtocol.version else {
            return .failure(ControlFailure(.unsupportedVersion, "this bulkhead speaks control protocol \(ControlProtocol.version), the client sent \(version): use the bulkhead CLI of the same version as the daemon"))
        }
        guard let command = object["cmd"]?.string, !command.isEmpty else {
            return .failure(ControlFailure(.badRequest, "the request has no command \"cmd\""))
        }
        var arguments = JSONObject()
        if let args = object["args"] {
            guard case .object(let given) = args else {
                return .failure(ControlFailure(.badRequest, "\"args\" must be an object"))
            }
            arguments = given
        }
        return .success(ControlRequest(command: command, arguments: arguments))
    }
}

/// One reply or event line as a client reads it.
public enum ControlMessage: Sendable {
    case result(JSON)
    case failure(ControlFailure)
    /// A streamed event (`line`, `dropped`, `end`) with its whole object.
    case event(String, JSON)

    /// Parses one line a daemon sent; nil when it is not a message of this protocol.
    public static func parse(_ line: UnsafeRawBufferPointer) -> ControlMessage? {
        guard let value = try? JSON(parsing: line, limits: .largeDocument), value["v"]?.int == ControlProtocol.version else { return nil }
        if let event = value["event"]?.string { return .event(event, value) }
        guard let ok = value["ok"]?.bool else { return nil }
        if ok { return .result(value["result"] ?? .null) }
        let error = value["error"]
        let code = error?["code"]?.string.flatMap(ControlFailure.Code.init(rawValue:)) ?? .internal
        let details = error?["details"]?.array?.compactMap(\.string) ?? []
        return .failure(ControlFailure(code, error?["message"]?.string ?? "the daemon gave no reason", details: details))
    }
}

/// Reading a request's arguments with messages that name what was wrong.
extension JSONObject {
    package func names(_ key: String = "names") -> Result<[String], ControlFailure> {
        guard let value = self[key] else { return .success([]) }
        guard let array = value.array else { return .failure(ControlFailure(.badArguments, "\"\(key)\" must be an array of strings")) }
        var names: [String] = []
        for element in array {
            guard let name = element.string else { return .failure(ControlFailure(.badArguments, "\"\(key)\" must be an array of strings")) }
            names.append(name)
        }
        return .success(names)
    }

    package func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>) -> Result<Int, ControlFailure> {
        guard let value = self[key], !value.isNull else { return .success(fallback) }
        guard let number = value.int, let int = Int(exactly: number), range.contains(int) else {
            return .failure(ControlFailure(.badArguments, "\"\(key)\" must be an integer from \(range.lowerBound) to \(range.upperBound)"))
        }
        return .success(int)
    }

    package func flag(_ key: String) -> Bool {
        self[key]?.bool ?? false
    }

    package func text(_ key: String) -> String? {
        self[key]?.string
    }
}
