import BulkheadPolicy
import BulkheadSystem
import Glibc

/// The sd_notify protocol (SPEC §4): one datagram socket for every instance, as systemd has one
/// for every unit, so 10,000 instances cost one fd here, not 10,000. Which instance a datagram
/// speaks for is decided by its sender's pid (SCM_CREDENTIALS, filled in by the kernel): the
/// instance whose main process it is, or whose process group it is in (`systemd-notify` run by
/// a shell worker, or deeper: a script the worker runs). Each instance leads a session of its
/// own, and setpgid cannot cross sessions, so no process outside an instance can join its group.
/// Anything else — a process that left its instance's group, a stranger, an oversized datagram —
/// is dropped and counted: against the instance whose cgroup holds the sender when there is one,
/// else against no instance (`rejectedTotal`).
final class NotifyReceiver {
    /// The one socket; its name goes into every worker's environment.
    let socket: NotifySocket
    private let token: UInt64
    /// Sockets bound under the names previous daemons gave the workers this one adopted (their
    /// environment still says `@bulkhead/<old pid>/notify`): read like the main one, so their
    /// `READY=1` and `WATCHDOG=1` keep arriving. Usually none, at most one per previous daemon.
    private(set) var formerSockets: [(socket: NotifySocket, token: UInt64)] = []
    private let loop: EventLoop
    private var buffer = [UInt8](repeating: 0, count: NotifyMessage.maxDatagram)
    /// Dropped datagrams per instance they could be pinned on, and in all.
    private(set) var rejected: [InstanceID: Int] = [:]
    private(set) var rejectedTotal = 0
    private var rejectedFromStrangers = 0

    /// Datagrams read per loop turn: the socket's queue is the only buffer, and what is left is
    /// read on the next turn (the loop's time budget keeps deaths and requests going meanwhile).
    static let datagramsPerTurn = 256

    /// Who sent a datagram, as the process table knows it.
    struct Senders {
        /// The instance whose main process has this pid (live, or dead and not yet handled).
        var mainProcess: (Int32) -> InstanceID?
        /// The instance whose cgroup holds this pid (for counting a rejection against it).
        var cgroupOwner: (Int32) -> InstanceID?
    }

    /// `inherited`: the socket a re-exec handed over (the workers' environment names it).
    init(loop: EventLoop, daemonPID: Int32, inherited: NotifySocket? = nil) throws(SystemError) {
        self.loop = loop
        if let inherited {
            socket = inherited
        } else {
            socket = try Self.bind(daemonPID)
        }
        do {
            token = try loop.register(socket.descriptor, .readable, .notify)
        } catch {
            socket.close()
            throw error
        }
    }

    /// `@bulkhead/<pid>/notify`. Abstract names are per network namespace, not per PID
    /// namespace: two daemons with the same pid (each PID 1 of a container on the host's
    /// network, `bulkhead init`) would collide, and the second takes a name with a random tag.
    /// The kernel queues at most net.unix.max_dgram_qlen datagrams however large the buffer;
    /// the buffer bounds their bytes.
    private static func bind(_ daemonPID: Int32) throws(SystemError) -> NotifySocket {
        do {
            return try NotifySocket(name: "@bulkhead/\(daemonPID)/notify", receiveBuffer: 1 << 20)
        } catch where error.errno == EADDRINUSE {
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            return try NotifySocket(name: "@bulkhead/\(daemonPID)-\(tag)/notify", receiveBuffer: 1 << 20)
        }
    }

    /// The instance left the configuration: what was counted for it goes.
    func forget(_ id: InstanceID) {
        rejected[id] = nil
    }

    func close() {
        loop.unregister(socket.descriptor, token: token)
        socket.close()
        for former in formerSockets {
            loop.unregister(former.socket.descriptor, token: former.token)
            former.socket.close()
        }
        formerSockets = []
    }

    /// An adopted worker's notify socket name, bound (once per name) if it is not ours. The
    /// name is free when the daemon that had it is gone; if something else holds it, the
    /// worker's messages cannot reach us (a watchdog would then stop it), and that is said.
    func listen(alsoOn name: String) throws(SystemError) {
        guard name != socket.name, !formerSockets.contains(where: { $0.socket.name == name }) else { return }
        take(formerSocket: try NotifySocket(name: name, receiveBuffer: 1 << 20))
    }

    /// A former socket, watched (bound here, or handed over by a re-exec).
    func take(formerSocket: NotifySocket) {
        guard let token = try? loop.register(formerSocket.descriptor, .readable, .notify) else {
            formerSocket.close()
            return
        }
        formerSockets.append((formerSocket, token))
    }

    /// Counts carried over a re-exec.
    func restoreCounts(rejected: [InstanceID: Int], total: Int, strangers: Int) {
        self.rejected = rejected
        rejectedTotal = total
        rejectedFromStrangers = strangers
    }

    var strangerRejections: Int { rejectedFromStrangers }

    /// What arrived (at most `datagramsPerTurn` datagrams): each accepted datagram's
    /// notifications with the instance they are for, in order, and a line for the first of a
    /// burst of dropped ones.
    func receive(_ senders: Senders) -> (notifications: [(InstanceID, Supervision.Notification)], events: [SupervisorEvent]) {
        var notifications: [(InstanceID, Supervision.Notification)] = []
        var events: [SupervisorEvent] = []
        // Senders looked up in /proc once per call: a flood from one process costs one read.
        var known: [Int32: (owner: InstanceID?, pinned: InstanceID?)] = [:]
        var sockets = [socket]
        sockets += formerSockets.map(\.socket)
        var next = 0
        for _ in 0..<Self.datagramsPerTurn {
            var datagram: NotifySocket.Datagram?
            while datagram == nil && next < sockets.count {
                datagram = try? sockets[next].receive(into: &buffer)
                if datagram == nil { next += 1 }   // empty (or failing): the next socket
            }
            guard let datagram else { break }
            // Any fd that came along (a BARRIER=1 fd) is closed only after the check: the
            // sender is still alive while it waits on it, so /proc still knows it.
            defer { for fd in datagram.descriptors { fd.close() } }
            let sender = datagram.senderPID ?? 0
            let found = known[sender] ?? {
                guard sender > 0 else { return (nil, nil) }
                let owner = Self.instance(of: sender, senders.mainProcess)
                return (owner, owner ?? senders.cgroupOwner(sender))
            }()
            known[sender] = found
            guard let owner = found.owner, !datagram.truncated else {
                if let event = reject(datagram, pinnedOn: found.pinned) { events.append(event) }
                continue
            }
            for notification in NotifyMessage.parse(datagram.bytes).notifications {
                notifications.append((owner, notification))
            }
        }
        return (notifications, events)
    }

    /// The instance `sender` speaks for: it is an instance's main process, or in the process
    /// group of one (an instance's pgid is its main process's pid). nil: none.
    static func instance(of sender: Int32, _ mainProcess: (Int32) -> InstanceID?) -> InstanceID? {
        if let id = mainProcess(sender) { return id }
        guard let stat = ProcFS.stat(sender), stat.processGroup > 0, stat.processGroup != sender else { return nil }
        return mainProcess(stat.processGroup)
    }

    private func reject(_ datagram: NotifySocket.Datagram, pinnedOn id: InstanceID?) -> SupervisorEvent? {
        rejectedTotal += 1
        let count: Int
        if let id {
            count = rejected[id, default: 0] + 1
            rejected[id] = count
        } else {
            rejectedFromStrangers += 1
            count = rejectedFromStrangers
        }
        // The first of a burst is worth a line; the rest are counted (status shows the counts).
        guard count == 1 || count % 1000 == 0 else { return nil }
        let who = datagram.senderPID.map { "pid \($0)" } ?? "an unknown sender"
        let why = datagram.truncated ? "oversized datagram"
            : id == nil ? "not a process of any instance" : "not a process of this instance"
        return SupervisorEvent(.notifyRejected, id, priority: 4,
                               message: "notify message from \(who) dropped (\(why)); \(count) dropped so far")
    }
}
