#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a config file whole, without Foundation.
enum ConfigFile {
    /// A config is a page or two; this bound only stops a wrong `--config` from eating memory.
    static let maxBytes = 4 << 20

    static func contents(of path: String) -> Result<String, ConfigError> {
        func failure(_ message: String) -> Result<String, ConfigError> {
            .failure(ConfigError(file: path, line: 0, keyPath: "", message: message))
        }
        let bytes: [UInt8]
        switch readFile(path, maxBytes: maxBytes) {
        case .success(let read): bytes = read
        case .failure(.cannotOpen(let code)): return failure("cannot open the config: \(errorText(code))")
        case .failure(.cannotRead(let code)): return failure("cannot read the config: \(errorText(code))")
        case .failure(.notRegular): return failure("is not a regular file")
        case .failure(.tooLarge): return failure("is larger than \(maxBytes >> 20) MiB; is it really the config?")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        // Decoding replaces invalid bytes with U+FFFD, so a round trip that differs means bad UTF-8.
        guard text.utf8.elementsEqual(bytes) else { return failure("is not UTF-8 text") }
        return .success(text)
    }

    enum ReadFailure: Error, Equatable {
        case cannotOpen(Int32)
        case cannotRead(Int32)
        case notRegular
        case tooLarge

        /// One clause for a message (`No such file or directory`, `is not a regular file`).
        var text: String {
            switch self {
            case .cannotOpen(let code), .cannotRead(let code): return ConfigFile.errorText(code)
            case .notRegular: return "not a regular file"
            case .tooLarge: return "larger than the limit"
            }
        }

        var isMissing: Bool { self == .cannotOpen(ENOENT) }
    }

    /// A regular file's bytes, at most `maxBytes` of them.
    static func readFile(_ path: String, maxBytes: Int) -> Result<[UInt8], ReadFailure> {
        // O_NONBLOCK: a FIFO given by mistake must not block the open until a writer appears;
        // it is refused below, and on a regular file the flag changes nothing.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(.cannotOpen(errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.cannotRead(errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(.cannotRead(errno))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
            guard bytes.count <= maxBytes else { return .failure(.tooLarge) }
        }
        return .success(bytes)
    }

    /// Whether `path` names nothing at all (ENOENT from stat): other failures (EACCES for a
    /// check run by a user who may not look) are not reported as missing.
    static func isMissing(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) != 0 && errno == ENOENT
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
