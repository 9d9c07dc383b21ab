import Glibc

/// A failed system call: the errno and the call's name, so a message can say what failed.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public var errno: Int32
    public var call: String

    public init(_ errno: Int32, _ call: String) {
        self.errno = errno
        self.call = call
    }

    /// From a CLinux return value (-errno).
    public init(negated: some BinaryInteger, _ call: String) {
        self.errno = Int32(truncatingIfNeeded: 0 - Int64(negated))
        self.call = call
    }

    /// The C library's words for it (`No such file or directory`).
    public var reason: String { Self.describe(errno) }

    public var description: String { "\(call): \(reason)" }

    public static func describe(_ errno: Int32) -> String {
        guard let text = strerror(errno) else { return "errno \(errno)" }
        return String(cString: text)
    }

    public static let notFound: Int32 = ENOENT
    public static let permissionDenied: Int32 = EACCES
    public static let wouldBlock: Int32 = EAGAIN
}

/// Calls a CLinux function that returns >= 0 or -errno.
@inline(__always)
public func check<T: BinaryInteger>(_ call: String, _ result: T) throws(SystemError) -> T {
    if result < 0 { throw SystemError(negated: result, call) }
    return result
}

/// Calls a libc function that returns -1 and sets errno; retries EINTR.
@inline(__always)
public func retryingEINTR<T: BinaryInteger>(_ call: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        if errno == EINTR { continue }
        throw SystemError(errno, call)
    }
}
