import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `output: journal-direct` at the syscall level: the child itself connects to a stream socket
/// (journald's, here a listener of the test's), writes the stream header and makes the
/// connection its stdout and stderr, so the peer the listener sees is the worker's own pid and
/// the spawner keeps no fd. A socket that is not there fails the spawn at stage `journal`.
extension Processes {
    @Suite struct JournalStreamSpawnTests {
        /// A listening AF_UNIX stream socket at `path`.
        static func listener(_ path: String) throws -> FileDescriptor {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket: \(SystemError.describe(errno))") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(fd, 16) == 0 else {
                close(fd)
                throw TestFailure("bind/listen \(path): \(SystemError.describe(errno))")
            }
            return FileDescriptor(rawValue: fd)
        }

        static func request(_ script: String, journal: (socket: String, header: String)) throws -> SpawnRequest {
            let devNull = try FileDescriptor.open("/dev/null", O_RDWR)
            return SpawnRequest(
                executable: "/bin/sh", arguments: ["/bin/sh", "-c", script], environment: ["PATH=/usr/bin:/bin"],
                standardInput: devNull, standardOutput: devNull, standardError: devNull, journalStream: journal
            )
        }

        @Test func theChildConnectsSendsTheHeaderAndWritesBothStreamsThere() throws {
            let directory = try temporaryDirectory("journal-stream")
            let path = directory + "/stdout"
            let listener = try Self.listener(path)
            defer { listener.close() }
            let header = "api\n\n6\n1\n0\n0\n0\n"
            let request = try Self.request("echo hello; echo '<3>oops' >&2", journal: (path, header))
            defer { request.standardInput.close() }
            // The child makes the connection in its own fd table: none is ever ours.
            let pid = try Spawner.spawn(request)

            let connection = accept(listener.rawValue, nil, nil)
            try #require(connection >= 0, "accept: \(SystemError.describe(errno))")
            defer { close(connection) }
            let peer = try UnixStream.peerCredentials(FileDescriptor(rawValue: connection))
            #expect(peer.pid == pid, "journald would record pid \(peer.pid), not the worker's \(pid)")
            let bytes = readToEnd(connection, until: deadline(milliseconds: 10_000))
            #expect(String(decoding: bytes, as: UTF8.self) == header + "hello\n<3>oops\n")
            #expect(waitExited(pid, until: deadline(milliseconds: 10_000)))
            #expect(reap(pid).map { $0.exited == 1 && $0.code == 0 } == true)
        }

        @Test func aSocketThatIsNotThereFailsTheSpawnAtStageJournal() throws {
            let directory = try temporaryDirectory("journal-stream-missing")
            let request = try Self.request("echo never", journal: (directory + "/no-journald-here", "x\n\n6\n1\n0\n0\n0\n"))
            defer { request.standardInput.close() }
            #expect(throws: SpawnError.self) { try Spawner.spawn(request) }
            do {
                _ = try Spawner.spawn(request)
            } catch {
                #expect(error.stage == .journal)
                #expect(error.errno == ENOENT, "\(error)")
            }
        }
    }
}
