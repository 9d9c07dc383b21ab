import CLinux
import Glibc

/// Unbuffered writes straight to an fd. `print` would buffer stdout when it is a pipe, and a
/// trap right after would lose the line.
enum Output {
    static func write(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { write($0, to: fd) }
    }

    static func write(_ bytes: UnsafeBufferPointer<UInt8>, to fd: Int32) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// One `crashlab: …` diagnostic line on stderr.
    static func note(_ text: String) {
        write("crashlab: \(text)\n", to: STDERR_FILENO)
    }

    /// One `crashlab: …` line on stdout, for things a test reads back (pids, sizes, the env).
    static func report(_ text: String) {
        write("crashlab: \(text)\n", to: STDOUT_FILENO)
    }
}
