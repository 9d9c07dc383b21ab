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
