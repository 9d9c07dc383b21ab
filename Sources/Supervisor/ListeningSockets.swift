import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// Socket activation's mechanism: every worker's `sockets:`, opened once when the config is
/// loaded (start, reload) and kept while the config keeps them, whatever happens to the
/// workers. While an instance is down its clients wait in the kernel's backlog; none is refused.
///
/// A socket that cannot be bound (the port is taken, say) fails its worker's spawns with the
/// reason (class `persistent`: the worker goes `failed`); each spawn, `bulkhead reset` among
/// them, tries the bind again.
final class ListeningSockets {
    struct Open {
        var spec: SocketSpec
        var descriptor: FileDescriptor
        /// What it is bound to, a port 0 resolved (`tcp://127.0.0.1:40123`).
        var bound: String
    }

    private var open: [String: [Open]] = [:]

    /// Brings the open sockets in line with `workers`: a socket whose spec is unchanged is kept
    /// (so a reload or a restart never drops the clients in its backlog), a new one is opened,
    /// one the config no longer has is closed. Returns what to tell the operator.
    func apply(_ workers: [WorkerSpec]) -> [SupervisorEvent] {
        var events: [SupervisorEvent] = []
        let wanted = Dictionary(workers.map { ($0.name, $0.sockets) }, uniquingKeysWith: { a, _ in a })
        for (worker, sockets) in open {
            let keep = wanted[worker] ?? []
            for socket in sockets where !keep.contains(socket.spec) { close(socket) }
            open[worker] = sockets.filter { keep.contains($0.spec) }
            if open[worker]?.isEmpty == true { open[worker] = nil }
        }
        for worker in workers where !worker.sockets.isEmpty {
            switch sockets(for: worker) {
            case .success(let sockets):
                let listed = sockets.map { "\($0.bound) (\($0.spec.name))" }.joined(separator: ", ")
                events.append(SupervisorEvent(.daemon, nil, priority: 6, message: "\(worker.name): listening on \(listed)"))
            case .failure(let error):
                events.append(SupervisorEvent(.daemon, nil, priority: 3, message: "\(worker.name): \(error.description); its instances cannot start until it can be bound"))
            }
        }
        return events
    }

    /// The worker's sockets in `sockets:` order, opening any not open yet. All or nothing: a
    /// worker never runs with some of its sockets.
    func sockets(for worker: WorkerSpec) -> Result<[Open], SpawnError> {
        var current = open[worker.name] ?? []
        var result: [Open] = []
        for spec in worker.sockets {
            if let existing = current.first(where: { $0.spec == spec }) {
                result.append(existing)
                continue
            }
            do {
                let made = try Self.bind(spec)
                current.append(made)
                result.append(made)
            } catch {
                open[worker.name] = current
                return .failure(error)
            }
        }
        open[worker.name] = current
        return .success(result)
    }

    /// For a re-exec: every open socket, to be kept open across `execve` and taken back by
    /// `restore`, so no client in a backlog is dropped and adopted workers keep the very socket
    /// new instances get (a fresh bind would fail: they still listen on it).
    func handoff() -> (section: JSON, keep: [FileDescriptor]) {
        var items: [JSON] = []
        var keep: [FileDescriptor] = []
        for (worker, sockets) in open.sorted(by: { $0.key < $1.key }) {
            for socket in sockets {
                items.append(.object([
                    ("worker", .string(worker)), ("name", .string(socket.spec.name)),
                    ("bound", .string(socket.bound)), ("fd", .int(Int64(socket.descriptor.rawValue))),
                ]))
                keep.append(socket.descriptor)
            }
        }
        return (.array(items), keep)
    }

    /// The previous image's sockets, each taken for the worker whose `sockets:` has it (the
    /// config is the same one, read again); any other is closed. Before `apply`.
    func restore(_ section: JSON?, _ workers: [WorkerSpec]) {
        let specs = Dictionary(workers.map { ($0.name, $0.sockets) }, uniquingKeysWith: { a, _ in a })
        for item in section?.array ?? [] {
            guard let number = item["fd"]?.int, let raw = Int32(exactly: number) else { continue }
            let descriptor = FileDescriptor(rawValue: raw)
            let worker = item["worker"]?.string ?? ""
            let taken = open[worker] ?? []
            guard let spec = specs[worker]?.first(where: { spec in
                spec.name == item["name"]?.string && !taken.contains { $0.spec == spec }
            }) else {
                descriptor.close()
                continue
            }
            try? descriptor.setCloseOnExec(true)
            open[worker, default: []].append(Open(spec: spec, descriptor: descriptor, bound: item["bound"]?.string ?? ""))
        }
    }

    /// After a restart (`kill -9`, a crash of bulkhead), adopted instances of `worker` still
    /// listen on its sockets, which the dead daemon opened: none can be bound again while they
    /// do. They are taken from the adopted process (`pidfd`), at fds 3… where it was given them,
    /// so new instances share them as before. True when taken; false when there is nothing to
    /// take or the process no longer holds them there.
    func takeOver(_ worker: WorkerSpec, from pidfd: FileDescriptor) -> Bool {
        guard !worker.sockets.isEmpty, open[worker.name]?.isEmpty ?? true else { return false }
        var taken: [Open] = []
        for (index, spec) in worker.sockets.enumerated() {
            guard let got = ListeningSocket.take(from: pidfd, number: Int32(3 + index), expecting: Self.address(spec.address)) else {
                taken.forEach { $0.descriptor.close() }
                return false
            }
            taken.append(Open(spec: spec, descriptor: got.descriptor, bound: got.bound))
        }
        open[worker.name] = taken
        return true
    }

    /// Everything closed (bulkhead exits); unix socket files removed.
    func closeAll() {
        for sockets in open.values { sockets.forEach(close) }
        open = [:]
    }

    private func close(_ socket: Open) {
        socket.descriptor.close()
        ListeningSocket.removeFile(of: Self.address(socket.spec.address))
    }

    static func bind(_ spec: SocketSpec) throws(SpawnError) -> Open {
        var uid: UInt32?
        var gid: UInt32?
        do {
            if let owner = spec.owner { uid = try Users.lookup(user: owner).uid }
            if let group = spec.group { gid = try Users.lookup(group: group) }
        } catch {
            throw SpawnError(stage: .sockets, errno: error.errno, detail: "\(spec.address): owner or group: \(error.call)")
        }
        do {
            let (descriptor, bound) = try ListeningSocket.open(address(spec.address), backlog: Int32(spec.backlog), mode: spec.mode, uid: uid, gid: gid)
            return Open(spec: spec, descriptor: descriptor, bound: bound)
        } catch {
            throw SpawnError(stage: .sockets, errno: error.errno, detail: "\(spec.address): \(error.description)")
        }
    }

    static func address(_ address: ListenAddress) -> ListeningSocket.Address {
        switch address {
        case .tcp(let host, let port): return .tcp(host: host, port: port)
        case .udp(let host, let port): return .udp(host: host, port: port)
        case .unix(let path): return .unix(path: path)
        }
    }
}
