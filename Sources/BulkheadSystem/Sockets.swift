import CLinux
import Glibc

/// A datagram socket speaking the sd_notify protocol: every datagram carries its sender's
/// credentials (SO_PASSCRED), and fds sent along are closed on arrival.
public struct NotifySocket: Sendable {
    public let descriptor: FileDescriptor
    public let name: String

    public init(name: String, receiveBuffer: Int = 0) throws(SystemError) {
        self.name = name
        descriptor = FileDescriptor(rawValue: try check("bind notify socket \(name)", bh_notify_socket(name, Int32(receiveBuffer)))).movedHigh()
    }

    /// A socket this process bound before a re-exec, handed over as `descriptor`.
    public init(inherited descriptor: FileDescriptor, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    public struct Datagram: Sendable {
        public var bytes: ArraySlice<UInt8>
        public var truncated: Bool
        public var senderPID: Int32?
        public var senderUID: UInt32?
        /// File descriptors that came along (BARRIER=1, FDSTORE=1): close them once the
        /// sender has been checked; bulkhead keeps none.
        public var descriptors: [FileDescriptor]
    }

    /// One datagram, or nil when none is pending. `buffer` is reused across calls.
    public func receive(into buffer: inout [UInt8]) throws(SystemError) -> Datagram? {
        var info = bh_datagram()
        let fd = descriptor.rawValue
        let rc = try retrying("recvmsg") { buffer.withUnsafeMutableBytes { bh_notify_receive(fd, $0.baseAddress, $0.count, &info) } }
        guard rc == 1 else { return nil }
        return Datagram(
            bytes: buffer[0..<Int(info.length)], truncated: info.truncated != 0,
            senderPID: info.has_credentials != 0 ? info.pid : nil,
            senderUID: info.has_credentials != 0 ? info.uid : nil,
            descriptors: withUnsafeBytes(of: info.fds) { raw in
                raw.bindMemory(to: Int32.self).prefix(Int(info.fd_count)).map { FileDescriptor(rawValue: $0) }
            }
        )
    }

    public func close() {
        descriptor.close()
    }

    /// A client's side: one datagram to `name` (path or `@abstract`).
    public static func send(_ text: String, to name: String) throws(SystemError) {
        _ = try retrying("sendto \(name)") { Array(text.utf8).withUnsafeBytes { bh_notify_send(name, $0.baseAddress, $0.count) } }
    }
}

public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
}

public enum UnixStream {
    /// A waiting connection, or nil.
    public static func accept(_ listener: FileDescriptor) throws(SystemError) -> FileDescriptor? {
        do {
            return FileDescriptor(rawValue: try retrying("accept4") { bh_unix_accept(listener.rawValue) }).movedHigh()
        } catch {
            if error.errno == EAGAIN || error.errno == EWOULDBLOCK { return nil }
            throw error
        }
    }

    public static func peerCredentials(_ fd: FileDescriptor) throws(SystemError) -> PeerCredentials {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        _ = try check("SO_PEERCRED", bh_peer_credentials(fd.rawValue, &pid, &uid, &gid))
        return PeerCredentials(pid: pid, uid: uid, gid: gid)
    }

    /// send(MSG_DONTWAIT): the bytes taken, 0 when the peer's buffer is full.
    public static func sendSome(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        Int(try retrying("send") { bh_send_nonblocking(fd.rawValue, bytes.baseAddress, bytes.count) })
    }
}
