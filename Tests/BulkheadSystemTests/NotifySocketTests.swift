import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `NotifySocket`: the per-instance sd_notify datagram socket. Under `Processes` because one
/// test forks a sender.
extension Processes {
    @Suite struct NotifySocketTests {
        static func abstractName(_ label: String) -> String {
            "@bulkhead-systests/\(getpid())/\(label)"
        }

        /// Receives one datagram, waiting (bounded) for it to arrive.
        static func receive(_ socket: NotifySocket, capacity: Int = NotifyMessageLimit) throws -> NotifySocket.Datagram? {
            var buffer = [UInt8](repeating: 0, count: capacity)
            guard waitReadable(socket.descriptor.rawValue, until: deadline(milliseconds: 5000)) else { return nil }
            return try socket.receive(into: &buffer)
        }

        @Test func abstractNameCarriesTheSendersCredentials() throws {
            let name = Self.abstractName("creds")
            let socket = try NotifySocket(name: name)
            defer { socket.close() }
            #expect(socket.descriptor.rawValue >= BH_HIGH_FD_BASE)
            // The abstract namespace: no file appears anywhere.
            #expect(!FileSystem.exists(String(name.dropFirst())))
            try NotifySocket.send("READY=1\nSTATUS=up", to: name)
            let datagram = try #require(try Self.receive(socket))
            #expect(Array(datagram.bytes) == Array("READY=1\nSTATUS=up".utf8))
            #expect(!datagram.truncated)
            #expect(datagram.senderPID == getpid())
            #expect(datagram.senderUID == getuid())
            #expect(datagram.descriptors.isEmpty)
            // Nothing else pending.
            var buffer = [UInt8](repeating: 0, count: 64)
            #expect(try socket.receive(into: &buffer) == nil)
        }

        @Test func pathSocketWorksAndIsAFile() throws {
            let directory = try temporaryDirectory("notify")
            defer { FileSystem.removeTree(directory) }
            let path = directory + "/notify.sock"
            let socket = try NotifySocket(name: path)
            defer { socket.close() }
            #expect(FileSystem.exists(path))
            try NotifySocket.send("WATCHDOG=1", to: path)
            let datagram = try #require(try Self.receive(socket))
            #expect(String(decoding: datagram.bytes, as: UTF8.self) == "WATCHDOG=1")
            #expect(datagram.senderPID == getpid())
        }

        @Test func aChildProcessIsNamedAsTheSender() throws {
            // Credentials name whoever sent it, not us: `systemd-notify` is not guaranteed here, so
            // a forked copy of this process sends.
            let name = Self.abstractName("child")
            let socket = try NotifySocket(name: name)
            defer { socket.close() }
            let report = try inSingleThreadedCopy {
                let rc = bh_notify_send(name, "READY=1", 7)
                return ["rc": "\(rc)", "pid": "\(getpid())"]
            }
            #expect(report["rc"] == "0")
            let datagram = try #require(try Self.receive(socket))
            #expect(datagram.senderPID.map { "\($0)" } == report["pid"])
            #expect(datagram.senderPID != getpid())
        }

        @Test func descriptorsSentAlongComeBackAndCanBeClosed() throws {
            let name = Self.abstractName("fds")
            let socket = try NotifySocket(name: name)
            defer { socket.close() }
            let pipe = try Pipe()
            defer { pipe.readEnd.close() }
            #expect(sendDatagram(to: name, Array("FDSTORE=1".utf8), descriptors: [pipe.writeEnd.rawValue, devNull.rawValue]) == 0)
            let datagram = try #require(try Self.receive(socket))
            #expect(datagram.descriptors.count == 2)
            #expect(String(decoding: datagram.bytes, as: UTF8.self) == "FDSTORE=1")
            // Received close-on-exec, and they are the same files.
            for fd in datagram.descriptors {
                #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0)
            }
            #expect(target(ofDescriptor: datagram.descriptors[0].rawValue, in: getpid()) == target(ofDescriptor: pipe.writeEnd.rawValue, in: getpid()))
            #expect(target(ofDescriptor: datagram.descriptors[1].rawValue, in: getpid()) == "/dev/null")
            // Once ours and the received copy are closed, the pipe's reader sees end of file.
            pipe.writeEnd.close()
            #expect(!isAtEndOfFile(pipe.readEnd))
            for fd in datagram.descriptors { #expect(Glibc.close(fd.rawValue) == 0) }
            #expect(isAtEndOfFile(pipe.readEnd))
        }

        @Test func descriptorsBeyondEightAreClosedOnArrival() throws {
            let name = Self.abstractName("manyfds")
            let socket = try NotifySocket(name: name)
            defer { socket.close() }
            let pipe = try Pipe()
            defer { pipe.readEnd.close() }
            let copies = (0..<12).map { _ in dup(pipe.writeEnd.rawValue) }
            #expect(sendDatagram(to: name, Array("FDSTORE=1".utf8), descriptors: copies) == 0)
            for fd in copies { close(fd) }
            pipe.writeEnd.close()
            let datagram = try #require(try Self.receive(socket))
            #expect(datagram.descriptors.count == 8)
            // The four beyond eight were closed in C: closing the eight we got ends the pipe.
            #expect(!isAtEndOfFile(pipe.readEnd))
            for fd in datagram.descriptors { fd.close() }
            #expect(isAtEndOfFile(pipe.readEnd))
        }

        @Test func anOversizedDatagramIsReportedTruncatedAndTheNextOneIsWhole() throws {
            let name = Self.abstractName("big")
            let socket = try NotifySocket(name: name, receiveBuffer: 1 << 20)
            defer { socket.close() }
            let big = String(repeating: "S", count: 10_000)
            try NotifySocket.send("STATUS=" + big, to: name)
            try NotifySocket.send("READY=1", to: name)
            let first = try #require(try Self.receive(socket, capacity: 4096))
            #expect(first.truncated)
            #expect(first.bytes.count == 4096)
            #expect(first.bytes.starts(with: Array("STATUS=SSS".utf8)))
            let second = try #require(try Self.receive(socket, capacity: 4096))
            #expect(!second.truncated)
            #expect(String(decoding: second.bytes, as: UTF8.self) == "READY=1")
        }

        @Test func sendingToNobodyThrows() throws {
            #expect(throws: SystemError.self) {
                try NotifySocket.send("READY=1", to: Self.abstractName("nobody-listens"))
            }
            #expect(throws: SystemError.self) {
                try NotifySocket.send("READY=1", to: "/nonexistent/bulkhead/notify.sock")
            }
        }

        @Test func aNameTooLongForSunPathIsRefused() throws {
            let long = "@" + String(repeating: "n", count: 200)
            #expect(throws: SystemError(ENAMETOOLONG, "bind notify socket \(long)")) {
                _ = try NotifySocket(name: long)
            }
        }

        @Test func aSecondBindOfTheSameNameFails() throws {
            let name = Self.abstractName("twice")
            let socket = try NotifySocket(name: name)
            defer { socket.close() }
            #expect(throws: SystemError(EADDRINUSE, "bind notify socket \(name)")) {
                _ = try NotifySocket(name: name)
            }
        }
    }
}

let NotifyMessageLimit = 4096

/// A non-blocking read end reads 0 (every writer is gone), not EAGAIN.
func isAtEndOfFile(_ fd: FileDescriptor) -> Bool {
    var byte: UInt8 = 0
    return Glibc.read(fd.rawValue, &byte, 1) == 0
}

/// An sd_notify client that also passes fds (SCM_RIGHTS), as `sd_pid_notify_with_fds` does.
/// Returns 0 or errno.
func sendDatagram(to name: String, _ bytes: [UInt8], descriptors: [Int32]) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return errno }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let path = Array(name.utf8)
    let pathCapacity = MemoryLayout.size(ofValue: address.sun_path)
    guard path.count < pathCapacity else { return ENAMETOOLONG }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, byte) in path.enumerated() { raw[i] = byte }
        if path.first == UInt8(ascii: "@") { raw[0] = 0 }
    }
    let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
    let length = socklen_t(pathOffset + path.count + (path.first == UInt8(ascii: "@") ? 0 : 1))

    // cmsghdr (len: size_t, level: int, type: int) then the fds, padded to 8 bytes.
    let header = MemoryLayout<cmsghdr>.size
    let payload = descriptors.count * MemoryLayout<Int32>.size
    var control = [UInt8](repeating: 0, count: header + (payload + 7) / 8 * 8)
    control.withUnsafeMutableBytes { raw in
        raw.storeBytes(of: header + payload, toByteOffset: 0, as: Int.self)
        raw.storeBytes(of: SOL_SOCKET, toByteOffset: MemoryLayout<Int>.size, as: Int32.self)
        raw.storeBytes(of: Int32(SCM_RIGHTS), toByteOffset: MemoryLayout<Int>.size + 4, as: Int32.self)
        for (i, descriptor) in descriptors.enumerated() {
            raw.storeBytes(of: descriptor, toByteOffset: header + i * 4, as: Int32.self)
        }
    }
    var data = bytes
    let sent = data.withUnsafeMutableBytes { dataRaw in
        control.withUnsafeMutableBytes { controlRaw in
            withUnsafeMutablePointer(to: &address) { addressPointer in
                var vector = iovec(iov_base: dataRaw.baseAddress, iov_len: dataRaw.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_name = UnsafeMutableRawPointer(addressPointer)
                    message.msg_namelen = length
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = descriptors.isEmpty ? nil : controlRaw.baseAddress
                    message.msg_controllen = descriptors.isEmpty ? 0 : controlRaw.count
                    return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                }
            }
        }
    }
    return sent < 0 ? errno : 0
}
