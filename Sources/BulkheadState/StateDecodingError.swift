/// Why bytes are not a state document: one sentence, with where in the document.
public struct StateDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
