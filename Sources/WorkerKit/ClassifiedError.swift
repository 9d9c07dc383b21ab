/// An error that declares how bad it is. Adopt it on your own error types; an error that does
/// not adopt it counts as ``FailureClass/transient``.
///
/// ```swift
/// enum LedgerError: ClassifiedError {
///     case checksumMismatch
///     var failureClass: FailureClass { .corruption }
/// }
/// ```
public protocol ClassifiedError: Error {
    /// The class that decides the exit code when this error ends the worker.
    var failureClass: FailureClass { get }
}

/// A ready-made classified error carrying a message, for workers that need no error types of
/// their own: `throw WorkerError.corruption("ledger checksum mismatch at block 7")`.
public struct WorkerError: ClassifiedError, CustomStringConvertible {
    public var failureClass: FailureClass
    public var message: String
    /// The error this one wraps, if any; its description follows the message.
    public var underlying: (any Error)?

    public init(_ failureClass: FailureClass, _ message: String, underlying: (any Error)? = nil) {
        self.failureClass = failureClass
        self.message = message
        self.underlying = underlying
    }

    public static func transient(_ message: String, underlying: (any Error)? = nil) -> WorkerError {
        WorkerError(.transient, message, underlying: underlying)
    }

    public static func persistent(_ message: String, underlying: (any Error)? = nil) -> WorkerError {
        WorkerError(.persistent, message, underlying: underlying)
    }

    public static func corruption(_ message: String, underlying: (any Error)? = nil) -> WorkerError {
        WorkerError(.corruption, message, underlying: underlying)
    }

    public var description: String {
        guard let underlying else { return message }
        return "\(message): \(underlying)"
    }
}
