import BulkheadPolicy
import BulkheadSystem
import CLinux
import Glibc

/// A worker process's stdout and stderr for one spawn, as its `output` says: pipes bulkhead
/// reads, a file opened for it, or journald's stream socket, which the child connects to itself.
/// Whatever the child gets is closed here once the spawn is over: bulkhead keeps the pipes'
/// read ends, and nothing at all for a file or journald.
struct WorkerStreams {
    var standardOutput: FileDescriptor
    var standardError: FileDescriptor
    var journalStream: (socket: String, header: String)?
    /// The pipes' read ends, kept by bulkhead (`output: bulkhead` only).
    var readEnds: (stdout: FileDescriptor, stderr: FileDescriptor)?
    /// The child's ends, closed once the spawn is over.
    private var childEnds: [FileDescriptor] = []

    static let journalSocket = "/run/systemd/journal/stdout"

    static func make(_ output: WorkerOutput, identifier: String, placeholder: FileDescriptor) throws(SpawnError) -> WorkerStreams {
        switch output {
        case .bulkhead: return try pipes()
        case .append(let path): return try file(path)
        case .journalDirect: return journal(identifier: identifier, placeholder: placeholder)
        }
    }

    static func pipes() throws(SpawnError) -> WorkerStreams {
        let out: Pipe
        let err: Pipe
        do {
            out = try Pipe()
        } catch {
            throw SpawnError(stage: .prepare, errno: error.errno, detail: "pipe2: \(error.reason)")
        }
        do {
            err = try Pipe()
        } catch {
            out.readEnd.close()
            out.writeEnd.close()
            throw SpawnError(stage: .prepare, errno: error.errno, detail: "pipe2: \(error.reason)")
        }
        _ = bh_set_pipe_size(out.readEnd.rawValue, WorkerLauncher.pipeSize)
        _ = bh_set_pipe_size(err.readEnd.rawValue, WorkerLauncher.pipeSize)
        var streams = WorkerStreams(standardOutput: out.writeEnd, standardError: err.writeEnd)
        streams.readEnds = (out.readEnd, err.readEnd)
        streams.childEnds = [out.writeEnd, err.writeEnd]
        return streams
    }

    /// Opened for each process (a rotated file is picked up at the next start), appended to by
    /// both streams, created 0640 if missing; created by bulkhead, so before any user switch.
    static func file(_ path: String) throws(SpawnError) -> WorkerStreams {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY, mode: 0o640)
        } catch {
            throw SpawnError(stage: .prepare, errno: error.errno, detail: "output append:\(path): \(error.reason)")
        }
        var streams = WorkerStreams(standardOutput: fd, standardError: fd)
        streams.childEnds = [fd]
        return streams
    }

    /// The stream protocol's header, as systemd writes it: identifier, unit (empty: journald
    /// takes it from the sender's cgroup), priority 6, `<N>` prefixes honoured, no forwarding
    /// to syslog, kmsg or the console. One connection for both streams (systemd's default, an
    /// inherited stderr): a stderr line is priority 6 unless it starts with `<N>`.
    static func journal(identifier: String, placeholder: FileDescriptor) -> WorkerStreams {
        var streams = WorkerStreams(standardOutput: placeholder, standardError: placeholder)
        streams.journalStream = (journalSocket, "\(identifier)\n\n6\n1\n0\n0\n0\n")
        return streams
    }

    /// The spawn is over: the child's ends go; on failure the read ends too.
    func spawnFinished(succeeded: Bool) {
        for fd in childEnds { fd.close() }
        if !succeeded, let readEnds {
            readEnds.stdout.close()
            readEnds.stderr.close()
        }
    }
}
