import BulkheadSystem
import Glibc

/// Why a new daemon image cannot take over from the handoff a re-exec left it: it then
/// execs the previous binary again, which answers the caller with this (`ReexecHandoff`).
public struct HandoffError: Error, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

extension HandoffError {
    /// An fd number from the handoff, checked to be open in this process.
    static func descriptor(_ value: Int64?, _ what: String) throws(HandoffError) -> FileDescriptor {
        guard let value, let number = Int32(exactly: value), number >= 0, fcntl(number, F_GETFD) >= 0 else {
            throw HandoffError("\(what): not an open file descriptor")
        }
        return FileDescriptor(rawValue: number)
    }
}
