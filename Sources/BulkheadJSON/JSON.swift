/// A JSON value.
///
/// Numbers keep their kind. The parser turns a number written without a fraction or an exponent
/// that fits in `Int64` into `.int`, so pids, nanosecond timestamps and byte sizes round-trip
/// exactly; every other number becomes `.double`. The writer keeps the distinction: an integral
/// `.double` is written with a fraction (`1.0`), so it parses back as `.double`.
///
/// Equality is structural, as JSON text would compare: `.int(1)` and `.double(1.0)` are different
/// values, strings and keys compare by their UTF-8 bytes (so `"é"` and `"e\u{301}"` differ,
/// unlike Swift's `String` equality), objects compare their members in order, and
/// `.double(.nan)` equals nothing (as `Double` does).
///
/// Values are trees built from arrays, so equality, the writer and deinitialisation recurse once
/// per level of nesting. The parser bounds that nesting (``JSONLimits/maxDepth``); values built in
/// code should stay shallow too.
public enum JSON: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// An integer that fits in `Int64`, kept exact.
    case int(Int64)
    /// Any other number. A non-finite value is written as `null`.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSON])
    /// An object: members in insertion order, keys unique.
    case object(JSONObject)
}

extension JSON: Equatable {
    /// Structural equality; see ``JSON``.
    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let left), .bool(let right)): return left == right
        case (.int(let left), .int(let right)): return left == right
        case (.double(let left), .double(let right)): return left == right
        case (.string(let left), .string(let right)): return JSONObject.sameKey(left, right)
        case (.array(let left), .array(let right)): return left == right
        case (.object(let left), .object(let right)): return left == right
        case (.null, _), (.bool, _), (.int, _), (.double, _), (.string, _), (.array, _), (.object, _):
            return false
        }
    }
}

// MARK: - Construction

extension JSON {
    /// An object with `members` in the order given; when a key repeats, the last value wins and
    /// keeps the position of the first.
    ///
    /// ```swift
    /// let status = JSON.object([("id", .string(id)), ("pid", .int(pid))])
    /// ```
    public static func object(_ members: [(String, JSON)]) -> JSON {
        .object(JSONObject(members))
    }

    /// A `.int` when `value` fits in `Int64`, otherwise the nearest `.double`.
    public init(_ value: some BinaryInteger) {
        if let exact = Int64(exactly: value) {
            self = .int(exact)
        } else {
            self = .double(Double(value))
        }
    }
}

// MARK: - Typed access

extension JSON {
    /// Whether this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value of a `.bool`, else `nil`.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The value of a `.int`, or of a `.double` that holds an integer exactly representable as
    /// `Int64` (so `3.0` gives `3`); else `nil`.
    public var int: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value): return Self.exactInteger(value)
        default: return nil
        }
    }

    /// `value` as Int64 when it is an integer in range. (`Int64(exactly:)` would do, but it calls
    /// libm's `trunc`, which a program linking no libm cannot resolve.)
    private static func exactInteger(_ value: Double) -> Int64? {
        // -2^63 is a Double exactly; 2^63 is the first Double past Int64.max. NaN fails both.
        guard value >= -9_223_372_036_854_775_808.0, value < 9_223_372_036_854_775_808.0 else { return nil }
        let truncated = Int64(value)
        return Double(truncated) == value ? truncated : nil
    }

    /// The value of a `.double`, or of a `.int` converted to the nearest `Double` (inexact beyond
    /// 2^53); else `nil`.
    public var double: Double? {
        switch self {
        case .double(let value): return value
        case .int(let value): return Double(value)
        default: return nil
        }
    }

    /// The value of a `.string`, else `nil`.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements of a `.array`, else `nil`.
    public var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members of a `.object`, else `nil`.
    public var object: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The value for `key` when this is an object that has it, else `nil`.
    ///
    /// Never traps, so it is safe on parsed (hostile) input: `json["a"]?["b"]?.int`.
    public subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The element at `index` when this is an array and `index` is in range, else `nil`.
    ///
    /// Never traps, so it is safe on parsed (hostile) input.
    public subscript(index: Int) -> JSON? {
        if case .array(let elements) = self, elements.indices.contains(index) {
            return elements[index]
        }
        return nil
    }
}

// MARK: - Mutation

extension JSON {
    /// Sets `key` to `value` in this object: an existing key keeps its position, a new key goes
    /// last.
    ///
    /// - Precondition: this is a `.object` (calling it on anything else is a bug).
    public mutating func set(_ key: String, _ value: JSON) {
        guard case .object(var object) = self else {
            preconditionFailure("JSON.set(_:_:) on a value that is not an object")
        }
        // Drop our own reference first so `object` is uniquely held and mutates in place.
        self = .null
        object.set(key, value)
        self = .object(object)
    }

    /// Appends `value` to this array.
    ///
    /// - Precondition: this is a `.array` (calling it on anything else is a bug).
    public mutating func append(_ value: JSON) {
        guard case .array(var elements) = self else {
            preconditionFailure("JSON.append(_:) on a value that is not an array")
        }
        self = .null
        elements.append(value)
        self = .array(elements)
    }
}
