// Literal conformances, so values read like the JSON they produce:
//
//     let status: JSON = ["id": "api:0", "pid": 4242, "ready": true, "exit": nil]

extension JSON: ExpressibleByNilLiteral {
    /// `.null`.
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension JSON: ExpressibleByBooleanLiteral {
    /// `.bool(value)`.
    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }
}

extension JSON: ExpressibleByIntegerLiteral {
    /// `.int(value)`.
    public init(integerLiteral value: Int64) {
        self = .int(value)
    }
}

extension JSON: ExpressibleByFloatLiteral {
    /// `.double(value)`.
    public init(floatLiteral value: Double) {
        self = .double(value)
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    /// `.string(value)`.
    public init(stringLiteral value: String) {
        self = .string(value)
    }

    /// `.string` of the interpolated text.
    public init(stringInterpolation: DefaultStringInterpolation) {
        self = .string(String(stringInterpolation: stringInterpolation))
    }
}

extension JSON: ExpressibleByArrayLiteral {
    /// `.array(elements)`.
    public init(arrayLiteral elements: JSON...) {
        self = .array(elements)
    }
}

extension JSON: ExpressibleByDictionaryLiteral {
    /// `.object` with the members in the order written; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements))
    }
}
