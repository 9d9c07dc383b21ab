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
        // O_NONBLOCK: a FIFO given by mistake must not block the open until a writer appears;
        // it is refused below, and on a regular file the flag changes nothing.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return failure("cannot open the config: \(errorText(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return failure("cannot read the config: \(errorText(errno))") }
        guard info.st_mode & S_IFMT == S_IFREG else { return failure("is not a regular file") }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return failure("cannot read the config: \(errorText(errno))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
            guard bytes.count <= maxBytes else { return failure("is larger than \(maxBytes >> 20) MiB; is it really the config?") }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        // Decoding replaces invalid bytes with U+FFFD, so a round trip that differs means bad UTF-8.
        guard text.utf8.elementsEqual(bytes) else { return failure("is not UTF-8 text") }
        return .success(text)
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
