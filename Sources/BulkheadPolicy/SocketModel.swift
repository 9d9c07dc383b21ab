/// One entry of a worker's `sockets:` (socket activation): opened by bulkhead when the config is
/// loaded, kept across every crash of the worker, passed to each instance from fd 3 on.
public struct SocketSpec: Equatable, Sendable {
    public var address: ListenAddress
    /// `LISTEN_FDNAMES` entry (systemd's FileDescriptorName=); the worker's name by default.
    public var name: String
    /// Unix sockets: the file's mode and owner (systemd's SocketMode=, SocketUser=, SocketGroup=).
    public var mode: UInt32?
    public var owner: String?
    public var group: String?
    /// listen(2) backlog for stream sockets (the kernel caps it at net.core.somaxconn).
    public var backlog: Int

    public init(address: ListenAddress, name: String, mode: UInt32? = nil, owner: String? = nil, group: String? = nil, backlog: Int = 4096) {
        self.address = address
        self.name = name
        self.mode = mode
        self.owner = owner
        self.group = group
        self.backlog = backlog
    }
}

/// `tcp://127.0.0.1:8080`, `tcp://[::]:8080`, `udp://0.0.0.0:5353`, `unix:/run/api.sock`.
public enum ListenAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case udp(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): return "tcp://\(Self.bracketed(host)):\(port)"
        case .udp(let host, let port): return "udp://\(Self.bracketed(host)):\(port)"
        case .unix(let path): return "unix:\(path)"
        }
    }

    static func bracketed(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }

    /// Parses what `listen:` says; the error is one sentence for the config's message.
    public static func parse(_ text: String) -> Result<ListenAddress, AddressError> {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/") else { return .failure(AddressError("a unix socket needs an absolute path (unix:/run/api.sock)")) }
            // sun_path holds 108 bytes including the terminating NUL.
            guard path.utf8.count <= 107 else { return .failure(AddressError("the path is \(path.utf8.count) bytes long; a unix socket path holds at most 107")) }
            return .success(.unix(path: path))
        }
        let scheme: String
        if text.hasPrefix("tcp://") { scheme = "tcp" } else if text.hasPrefix("udp://") { scheme = "udp" } else {
            return .failure(AddressError("expected tcp://HOST:PORT, udp://HOST:PORT or unix:/PATH"))
        }
        switch HostPort.parse(String(text.dropFirst(6)), allowsPortZero: true) {
        case .failure(let error): return .failure(error)
        case .success(let hostPort):
            guard !hostPort.plusIndex else { return .failure(AddressError("a socket is shared by every instance: its port cannot grow with the index")) }
            return .success(scheme == "tcp" ? .tcp(host: hostPort.host, port: hostPort.port) : .udp(host: hostPort.host, port: hostPort.port))
        }
    }

    public struct AddressError: Error, Equatable, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }
}

/// `HOST:PORT` with a numeric host (`127.0.0.1`, `[::1]`; `localhost` is 127.0.0.1), and for
/// probes a port that may be written `BASE+index`.
public struct HostPort: Equatable, Sendable {
    public var host: String
    public var port: Int
    public var plusIndex: Bool

    public static func parse(_ text: String, allowsPortZero: Bool = false) -> Result<HostPort, ListenAddress.AddressError> {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.init("\(quote(text)): an IPv6 address needs its closing ]")) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(.init("\(quote(text)): expected a port after the address ([::1]:8080)")) }
            portText = rest.dropFirst()
            guard IPAddressText.isIPv6(host) else { return .failure(.init("\(quote(String(host))) is not an IPv6 address")) }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.init("\(quote(text)): expected HOST:PORT (127.0.0.1:8080)")) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return .failure(.init("\(quote(text)): write an IPv6 address in brackets ([::1]:8080)")) }
            guard host == "localhost" || IPAddressText.isIPv4(host) else {
                return .failure(.init("\(quote(String(host))) is not a numeric IPv4 address (names are not looked up; write e.g. 127.0.0.1)"))
            }
        }
        var digits = portText
        var plusIndex = false
        if digits.hasSuffix("+index") {
            plusIndex = true
            digits = digits.dropLast("+index".count)
        }
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }), digits.count <= 5, let port = Int(digits),
              port <= 65535, port > 0 || allowsPortZero else {
            return .failure(.init("\(quote(String(portText))) is not a port (\(allowsPortZero ? 0 : 1)–65535)"))
        }
        return .success(HostPort(host: host == "localhost" ? "127.0.0.1" : String(host), port: port, plusIndex: plusIndex))
    }

    private static func quote(_ text: String) -> String { "\"\(text)\"" }
}

/// Numeric IP address literals, checked without the C library (policy makes no calls).
public enum IPAddressText {
    /// Four decimal octets, no leading zeros (`010` would be octal to some parsers).
    public static func isIPv4(_ text: some StringProtocol) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ ("0"..."9").contains($0) }),
                  let value = Int(part), value <= 255 else { return false }
            return part.count == 1 || part.first != "0"
        }
    }

    /// RFC 4291 text: eight groups of 1–4 hex digits, one `::` for a run of zeros, an IPv4
    /// tail in the last 32 bits. No zone (`%eth0`).
    public static func isIPv6(_ text: some StringProtocol) -> Bool {
        let text = String(text)
        guard !text.isEmpty, text.count <= 45 else { return false }
        let halves = splitAtDoubleColons(text)
        guard halves.count <= 2 else { return false }
        var groups = 0
        for (index, half) in halves.enumerated() where !half.isEmpty {
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (position, part) in parts.enumerated() {
                let isLast = index == halves.count - 1 && position == parts.count - 1
                if isLast && part.contains(".") {
                    guard isIPv4(part) else { return false }
                    groups += 2
                    continue
                }
                guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit) else { return false }
                groups += 1
            }
        }
        return halves.count == 2 ? groups <= 7 : groups == 8
    }

    /// The text between `::`s (a second `::` gives three parts, which the caller refuses).
    private static func splitAtDoubleColons(_ text: String) -> [Substring] {
        var result: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == ":", next < text.endIndex, text[next] == ":" {
                result.append(text[start..<index])
                index = text.index(after: next)
                start = index
                continue
            }
            index = next
        }
        result.append(text[start..<text.endIndex])
        return result
    }
}

/// One `env_file:` entry: systemd's EnvironmentFile=, a leading `-` making it optional.
public struct EnvFileReference: Equatable, Sendable {
    public var path: String
    public var optional: Bool

    public init(path: String, optional: Bool) {
        self.path = path
        self.optional = optional
    }
}

/// One `credentials:` entry: a file bulkhead copies into the instance's CREDENTIALS_DIRECTORY
/// (systemd's LoadCredential=NAME:PATH).
public struct CredentialSpec: Equatable, Sendable {
    public var name: String
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    /// A file name of its own: printable ASCII but `/`, not `.` or `..`, at most 255 bytes
    /// (systemd's credential_name_valid, and then some: no spaces or control characters).
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }
    }
}
