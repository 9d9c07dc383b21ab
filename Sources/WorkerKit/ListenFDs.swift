import Glibc

/// A socket the supervisor opened and passed down (socket activation): bulkhead's `sockets:`,
/// systemd's `.socket` units, or anything else that follows sd_listen_fds(3).
public struct ListenFD: Sendable, Hashable, CustomStringConvertible {
    /// The descriptor: 3, 4, … in the order the supervisor passed them.
    public var fileDescriptor: Int32
    /// Its name from `LISTEN_FDNAMES` (bulkhead's `name:` in `sockets:`), or `unknown` when the
    /// supervisor gave no names, as sd_listen_fds_with_names(3) says.
    public var name: String

    public init(fileDescriptor: Int32, name: String) {
        self.fileDescriptor = fileDescriptor
        self.name = name
    }

    public var description: String { "\(name)=\(fileDescriptor)" }

    /// The first passed descriptor (`SD_LISTEN_FDS_START`).
    public static let firstFileDescriptor: Int32 = 3
}

/// Why the inherited sockets could not be taken. Each is the supervisor's configuration, not
/// something a restart fixes, so each is ``FailureClass/persistent``.
public enum ListenFDsError: ClassifiedError, Hashable, CustomStringConvertible {
    /// A variable is not a number where one is needed (`LISTEN_PID`, `LISTEN_FDS`).
    case malformed(variable: String, value: String)
    /// `LISTEN_FDNAMES` names a different number of sockets than `LISTEN_FDS` counts.
    case nameCountMismatch(names: Int, descriptors: Int)
    /// `LISTEN_FDS` counts a descriptor this process does not have open.
    case notOpen(fileDescriptor: Int32, errno: Int32)

    public var failureClass: FailureClass { .persistent }

    public var description: String {
        switch self {
        case .malformed(let variable, let value):
            "\(variable)=\"\(value)\" is not a valid value"
        case .nameCountMismatch(let names, let descriptors):
            "LISTEN_FDNAMES has \(names) name(s) but LISTEN_FDS counts \(descriptors) socket(s)"
        case .notOpen(let fd, let error):
            "LISTEN_FDS passes fd \(fd), which is not open (\(String(cString: strerror(error))))"
        }
    }
}

/// The sockets passed to this process by socket activation, with their names:
/// sd_listen_fds_with_names(3), in Swift.
///
/// ```swift
/// let sockets = try listenFDs()
/// if let http = sockets.first(where: { $0.name == "http" }) {
///     // accept on http.fileDescriptor: it is already bound and listening
/// }
/// ```
///
/// - `LISTEN_PID` must be this process's pid; otherwise the variables were meant for a parent
///   that exec'd or forked this program, and the answer is no sockets (not an error).
/// - `LISTEN_FDS` counts the sockets, starting at fd 3; `LISTEN_FDNAMES`, when present, names
///   each of them, colon-separated.
/// - Each descriptor is marked close-on-exec, so a program the worker starts does not inherit
///   the listening socket.
/// - With `unsetEnvironment` (the default) the three variables are removed, whatever the
///   outcome, so a child process cannot mistake them for its own. Like every `unsetenv`, do it
///   early in `main`, before other threads read the environment.
///
/// Without the variables the result is empty: a worker started by hand binds its own socket.
/// A malformed set is thrown as ``ListenFDsError`` (class persistent: the supervisor's config is
/// wrong, a restart will not fix it).
public func listenFDs(unsetEnvironment: Bool = true) throws(ListenFDsError) -> [ListenFD] {
    let variables = ListenFDVariables.current()
    if unsetEnvironment {
        for name in ListenFDVariables.names {
            unsetenv(name)
        }
    }
    let sockets = try variables.sockets(processID: getpid())
    for socket in sockets {
        let flags = fcntl(socket.fileDescriptor, F_GETFD)
        guard flags >= 0 else { throw .notOpen(fileDescriptor: socket.fileDescriptor, errno: errno) }
        if flags & FD_CLOEXEC == 0 {
            _ = fcntl(socket.fileDescriptor, F_SETFD, flags | FD_CLOEXEC)
        }
    }
    return sockets
}

/// The three variables of socket activation as read, and what they mean: pure, so each rule is
/// tested without a process.
struct ListenFDVariables: Hashable {
    var pid: String?
    var count: String?
    var names: String?

    static let names = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    static func current() -> ListenFDVariables {
        func read(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        return ListenFDVariables(pid: read("LISTEN_PID"), count: read("LISTEN_FDS"), names: read("LISTEN_FDNAMES"))
    }

    /// The sockets these variables pass to `processID`. Rules as libsystemd's
    /// sd_listen_fds_with_names: no `LISTEN_PID` or `LISTEN_FDS`, or another pid → none;
    /// unparsable numbers → an error; names absent → each `unknown`; names present but not one per
    /// socket → an error. `LISTEN_FDS=0` is no sockets (libsystemd calls it invalid; an empty
    /// `sockets:` list is not worth failing a worker over).
    func sockets(processID: Int32) throws(ListenFDsError) -> [ListenFD] {
        guard let pid, let count else { return [] }
        guard let listenPID = Int32(pid), listenPID > 0 else { throw .malformed(variable: "LISTEN_PID", value: pid) }
        guard listenPID == processID else { return [] }
        guard let number = Int32(count), number >= 0, number <= Int32.max - ListenFD.firstFileDescriptor else {
            throw .malformed(variable: "LISTEN_FDS", value: count)
        }
        let labels: [String]
        if let names {
            // Empty fields are kept (`a::b` names three sockets), as systemd splits them.
            labels = names.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard labels.count == Int(number) || number == 0 else {
                throw .nameCountMismatch(names: labels.count, descriptors: Int(number))
            }
        } else {
            labels = Array(repeating: "unknown", count: Int(number))
        }
        return (0..<number).map { ListenFD(fileDescriptor: ListenFD.firstFileDescriptor + $0, name: labels[Int($0)]) }
    }
}
