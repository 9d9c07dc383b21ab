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

// The two conventions of the calls below this module, each checked in one place: CLinux's
// wrappers return >= 0 or -errno; Glibc's functions return -1 and set errno. EINTR is retried
// here and nowhere else (no CLinux wrapper loops on it).

/// Checks a CLinux result (>= 0 or -errno) of a call that cannot be interrupted.
@inline(__always)
public func check<T: BinaryInteger>(_ call: String, _ result: T) throws(SystemError) -> T {
    if result < 0 { throw SystemError(negated: result, call) }
    return result
}

/// Calls a CLinux function (>= 0 or -errno) again while it is interrupted (EINTR).
@inline(__always)
public func retrying<T: BinaryInteger>(_ call: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        if Int64(result) == -Int64(EINTR) { continue }
        throw SystemError(negated: result, call)
    }
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
