import BulkheadPolicy
import BulkheadSystem

/// The sd_notify protocol, per instance (SPEC §4): each instance's own datagram socket, and the
/// check that a datagram comes from the instance's main process or a process in its process
/// group (`systemd-notify` run by a shell worker, or deeper: a script the worker runs). Another
/// instance's process or a stranger is dropped and counted. No process outside the instance's
/// session can join that group (setpgid stays within a session), and each instance has a
/// session of its own.
final class NotifyReceiver {
    private struct Endpoint {
        var socket: NotifySocket
        var token: UInt64
    }

    private var endpoints: [InstanceID: Endpoint] = [:]
    private var buffer = [UInt8](repeating: 0, count: NotifyMessage.maxDatagram)
    private let loop: EventLoop
    private let daemonPID: Int32
    /// Dropped datagrams per instance, and in all.
    private(set) var rejected: [InstanceID: Int] = [:]
    private(set) var rejectedTotal = 0

    static let datagramsPerTurn = 64

    init(loop: EventLoop, daemonPID: Int32) {
        self.loop = loop
        self.daemonPID = daemonPID
    }

    /// The instance's socket, opened if it is not: its name goes into the worker's environment.
    func socketName(for id: InstanceID) throws(SystemError) -> String {
        if let endpoint = endpoints[id] { return endpoint.socket.name }
        let socket = try NotifySocket(name: "@bulkhead/\(daemonPID)/\(id)", receiveBuffer: 64 << 10)
        do {
            let token = try loop.register(socket.descriptor, .readable, .notify(id))
            endpoints[id] = Endpoint(socket: socket, token: token)
            return socket.name
        } catch {
            socket.close()
            throw error
        }
    }

    /// The name of the instance's socket, if it has one (the state file records it).
    func boundName(of id: InstanceID) -> String? {
        endpoints[id]?.socket.name
    }

    /// An adopted worker sends to the name the previous daemon gave it (`@bulkhead/<its
    /// pid>/…`, free now that it is gone): the instance's socket is bound under that name, so
    /// its `READY=1` and `WATCHDOG=1` keep arriving.
    func bind(_ id: InstanceID, name: String) throws(SystemError) {
        release(id)
        let socket = try NotifySocket(name: name, receiveBuffer: 64 << 10)
        adopt(id, socket, rejected: rejected[id] ?? 0)
    }

    /// The sockets, for a re-exec (`NotifyReceiver+Handoff`).
    var endpointDescriptors: [InstanceID: NotifySocket] {
        endpoints.mapValues(\.socket)
    }

    /// A socket bound before a re-exec, watched again.
    func adopt(_ id: InstanceID, _ socket: NotifySocket, rejected count: Int) {
        guard let token = try? loop.register(socket.descriptor, .readable, .notify(id)) else {
            socket.close()
            return
        }
        endpoints[id] = Endpoint(socket: socket, token: token)
        if count > 0 { rejected[id] = count }
    }

    func restoreRejectedTotal(_ total: Int) {
        rejectedTotal = total
    }

    /// The instance has no process and will not soon (a failed spawn, or it left): its socket
    /// goes, so an instance that cannot start holds no fd.
    func release(_ id: InstanceID) {
        guard let endpoint = endpoints.removeValue(forKey: id) else { return }
        loop.unregister(endpoint.socket.descriptor, token: endpoint.token)
        endpoint.socket.close()
    }

    /// The instance forgets what was counted for it (it left the configuration).
    func forget(_ id: InstanceID) {
        release(id)
        rejected[id] = nil
    }

    func closeAll() {
        for id in Array(endpoints.keys) { release(id) }
    }

    /// What arrived on the instance's socket (at most `datagramsPerTurn`): the notifications of
    /// the datagrams its processes sent, in order, and a line for the first of a burst of
    /// dropped ones.
    func receive(_ id: InstanceID, mainPID: Int32?) -> (notifications: [Supervision.Notification], events: [SupervisorEvent]) {
        guard let socket = endpoints[id]?.socket else { return ([], []) }
        var notifications: [Supervision.Notification] = []
        var events: [SupervisorEvent] = []
        for _ in 0..<Self.datagramsPerTurn {
            let datagram: NotifySocket.Datagram?
            do { datagram = try socket.receive(into: &buffer) } catch { break }
            guard let datagram else { break }
            // Any fd that came along (a BARRIER=1 fd) is closed only after the check: the
            // sender is still alive while it waits on it, so /proc still knows it.
            defer { for fd in datagram.descriptors { fd.close() } }
            guard !datagram.truncated, let sender = datagram.senderPID, let pid = mainPID,
                  Self.isFromInstance(sender: sender, mainPID: pid) else {
                if let event = reject(id, datagram) { events.append(event) }
                continue
            }
            notifications += NotifyMessage.parse(datagram.bytes).notifications
        }
        return (notifications, events)
    }

    static func isFromInstance(sender: Int32, mainPID: Int32) -> Bool {
        if sender == mainPID { return true }
        guard let stat = ProcFS.stat(sender) else { return false }
        return stat.processGroup == mainPID
    }

    private func reject(_ id: InstanceID, _ datagram: NotifySocket.Datagram) -> SupervisorEvent? {
        let count = rejected[id, default: 0] + 1
        rejected[id] = count
        rejectedTotal += 1
        // The first of a burst is worth a line; the rest are counted (status shows the count).
        guard count == 1 || count % 1000 == 0 else { return nil }
        let who = datagram.senderPID.map { "pid \($0)" } ?? "an unknown sender"
        let why = datagram.truncated ? "oversized datagram" : "not a process of this instance"
        return SupervisorEvent(.notifyRejected, id, priority: 4,
                               message: "notify message from \(who) dropped (\(why)); \(count) dropped so far")
    }
}
