import BulkheadPolicy
import BulkheadSystem
import Glibc

/// `credentials:`: before each start of an instance, its files are copied into a directory of
/// its own (0700, each file 0400, all owned by the worker's user) whose path the worker gets
/// as `CREDENTIALS_DIRECTORY`, as systemd's LoadCredential= does; the directory is removed when
/// the process is gone. The secrets themselves are never in the environment, an event, a log
/// line, a crash report or `status`: only names and paths are.
///
/// The directories live under the runtime directory (`/run/bulkhead`, or
/// `$XDG_RUNTIME_DIR/bulkhead` for a user daemon: memory, not disk), in
/// `credentials-<daemon pid>` (0711: a worker reaches its own directory, lists nobody's).
struct CredentialDirectories {
    let root: String

    /// A credential is a key or a password, not a data set: systemd's limit too.
    static let maxBytes = 1 << 20

    init(root: String) {
        self.root = root
    }

    /// The runtime directory for this daemon, with what a daemon killed earlier left removed.
    static func forDaemon(pid: Int32, stateDir: String) -> CredentialDirectories {
        let runtime: String
        if geteuid() == 0 {
            runtime = "/run/bulkhead"
        } else if let xdg = Environment.get("XDG_RUNTIME_DIR"), xdg.hasPrefix("/") {
            runtime = xdg + "/bulkhead"
        } else {
            runtime = stateDir
        }
        // In a pid namespace (a container's init, `unshare --pid`) the pids in other daemons'
        // names are not ours to test, and another namespace's daemon may have our pid: no
        // sweep, and a name no other daemon can have.
        guard ProcFS.seesKernelPIDs() else {
            return CredentialDirectories(root: runtime + "/credentials-ns-\(pid)-\(UInt32.random(in: 0...UInt32.max))")
        }
        for entry in FileSystem.list(runtime) where entry.hasPrefix("credentials-") {
            guard let other = Int32(entry.dropFirst("credentials-".count)), other != pid, kill(other, 0) != 0, errno == ESRCH else { continue }
            FileSystem.removeTree(runtime + "/" + entry)
        }
        return CredentialDirectories(root: runtime + "/credentials-\(pid)")
    }

    func directory(of id: InstanceID) -> String {
        root + "/" + id.description.replacingColons()
    }

    /// Copies `credentials` into a fresh directory for `id`; its path.
    func prepare(_ id: InstanceID, _ credentials: [CredentialSpec], uid: UInt32?, gid: UInt32?) throws(SpawnError) -> String {
        let path = directory(of: id)
        FileSystem.removeTree(path)   // a copy from an earlier start must not linger
        do throws(SystemError) {
            try FileSystem.makeDirectories(root, mode: 0o711)
            try FileSystem.chmod(root, 0o711)
            guard mkdir(path, 0o700) == 0 else { throw SystemError(errno, "mkdir \(path)") }
            for credential in credentials {
                try copy(credential, into: path, uid: uid, gid: gid)
            }
            if uid != nil || gid != nil { try FileSystem.chown(path, uid: uid, gid: gid) }
        } catch {
            FileSystem.removeTree(path)
            throw SpawnError(stage: .credentials, errno: error.errno, detail: error.description)
        }
        return path
    }

    /// Read whole (bounded), then written with O_EXCL, 0400, owned by the worker.
    private func copy(_ credential: CredentialSpec, into directory: String, uid: UInt32?, gid: UInt32?) throws(SystemError) {
        let source: FileDescriptor
        do {
            source = try FileDescriptor.open(credential.path, O_RDONLY)
        } catch {
            throw SystemError(error.errno, "credential \(credential.name): open \(credential.path)")
        }
        defer { source.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let read = chunk.withUnsafeMutableBytes { raw in Result { () throws(SystemError) -> Int? in try source.read(into: raw) } }
            let n = try read.get() ?? 0
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<n])
            if bytes.count > Self.maxBytes {
                throw SystemError(EFBIG, "credential \(credential.name): \(credential.path) is larger than \(Self.maxBytes >> 20) MiB")
            }
        }
        let target = directory + "/" + credential.name
        let file = try FileDescriptor.open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o400)
        defer { file.close() }
        try file.writeAll(bytes)
        if uid != nil || gid != nil, fchown(file.rawValue, uid ?? UInt32.max, gid ?? UInt32.max) != 0 {
            throw SystemError(errno, "chown \(target)")
        }
    }

    /// The process is gone: its copies go too.
    func remove(_ id: InstanceID) {
        FileSystem.removeTree(directory(of: id))
    }

    /// bulkhead exits.
    func removeAll() {
        FileSystem.removeTree(root)
    }
}
