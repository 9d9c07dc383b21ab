import Glibc
import CLinux

/// An owned file descriptor. Not closed automatically: the owner closes it once, on purpose.
public struct FileDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public func close() {
        // Never retry close on EINTR (Linux has released the fd already).
        _ = Glibc.close(rawValue)
    }

    /// read(2), EINTR retried. Returns 0 at end of file; nil when it would block.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        while true {
            let n = Glibc.read(rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError(errno, "read")
        }
    }

    /// write(2) once, EINTR retried. Returns the bytes written; nil when it would block.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        while true {
            let n = Glibc.write(rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError(errno, "write")
        }
    }

    /// Writes everything (blocking descriptors).
    /// One line to a terminal or a pipe (the CLI's output); a failure to write is ignored.
    public func writeLine(_ text: String) {
        try? writeAll(Array((text + "\n").utf8))
    }

    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        let result = bytes.withUnsafeBytes { writeEverything($0) }
        if let error = result { throw error }
    }

    /// write(2) until every byte is written (blocking descriptors), EINTR retried.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        if let error = writeEverything(bytes) { throw error }
    }

    /// A string's bytes, written from where they are (no copy into an array first).
    public func writeAll(_ text: String) throws(SystemError) {
        var text = text
        let result = text.withUTF8 { writeEverything(UnsafeRawBufferPointer($0)) }
        if let error = result { throw error }
    }

    private func writeEverything(_ bytes: UnsafeRawBufferPointer) -> SystemError? {
        var offset = 0
        while offset < bytes.count {
            do {
                offset += try retryingEINTR("write") { Glibc.write(rawValue, bytes.baseAddress! + offset, bytes.count - offset) }
            } catch {
                return error
            }
        }
        return nil
    }

    public func setNonBlocking(_ on: Bool) throws(SystemError) {
        _ = try check("fcntl(O_NONBLOCK)", bh_set_nonblocking(rawValue, on ? 1 : 0))
    }

    public var description: String { "fd \(rawValue)" }

    /// FD_CLOEXEC on or off: a re-exec hands some fds to the new image on purpose.
    public func setCloseOnExec(_ on: Bool) throws(SystemError) {
        _ = try check("fcntl(FD_CLOEXEC)", bh_set_cloexec(rawValue, on ? 1 : 0))
    }

    /// poll(POLLIN) for at most `milliseconds`, EINTR retried: whether it became readable.
    public func waitReadable(milliseconds: Int32) -> Bool {
        var p = pollfd(fd: rawValue, events: Int16(POLLIN), revents: 0)
        while true {
            let rc = poll(&p, 1, milliseconds)
            if rc < 0 && errno == EINTR { continue }
            return rc > 0
        }
    }

    /// The same file at BH_HIGH_FD_BASE or above: where every long-lived fd of the daemon goes,
    /// so that spawning a worker never has to close them (see `bh_spawn`).
    public func movedHigh() -> FileDescriptor {
        FileDescriptor(rawValue: bh_fd_move_high(rawValue))
    }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)

    /// open(2) with O_CLOEXEC.
    public static func open(_ path: String, _ flags: Int32, mode: Int32 = 0o644) throws(SystemError) -> FileDescriptor {
        FileDescriptor(rawValue: try retrying("open \(path)") { bh_open(path, flags, mode) })
    }
}

/// A pipe whose read end is non-blocking (ours) and write end blocking (the worker's).
public struct Pipe: Sendable {
    public let readEnd: FileDescriptor
    public let writeEnd: FileDescriptor

    public init() throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer { bh_pipe($0.baseAddress) }
        _ = try check("pipe2", rc)
        readEnd = FileDescriptor(rawValue: fds[0]).movedHigh()
        writeEnd = FileDescriptor(rawValue: fds[1])
    }
}
