import CLinux
import Supervisor

/// One sd_notify datagram as the daemon receives it: its ancillary data (credentials, fds) as
/// recvmsg leaves it, then the message. Input: a 2-byte little-endian length of the ancillary
/// bytes, those bytes, then the datagram.
enum NotifyFuzz {
    @Sendable static func run(_ bytes: UnsafeRawBufferPointer) {
        var fields = FuzzFields(bytes)
        let declared = Int(fields.byte()) | Int(fields.byte()) << 8
        let rest = fields.remaining
        let controlLength = min(declared, rest.count, 4096)
        // recvmsg's buffer is aligned for a cmsghdr; so is this one (a fresh allocation).
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: max(controlLength, 1), alignment: 8)
        defer { control.deallocate() }
        control.copyBytes(from: rest[..<controlLength])
        var datagram = bh_datagram()
        // Fd numbers here are made up: the ones past 8 must not be closed in this process.
        bh_notify_read_control(control.baseAddress, controlLength, &datagram) { _ in }
        precondition(datagram.fd_count >= 0 && datagram.fd_count <= 8)
        _ = ParserEntryPoints.notifyMessage(rest[controlLength...].prefix(ParserEntryPoints.notifyDatagramLimit))
    }
}
