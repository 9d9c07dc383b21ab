import BulkheadControl
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// The control socket (issue 3): listener, clients, framing, deadlines, permissions.
/// Owned by the daemon; serviced from its loop (Daemon+Control.swift), never from a thread.
///
/// Every client gets a bounded share of each loop turn (`requestsPerTurn`, `writeBytesPerTurn`,
/// one read), a bounded buffer each way, and deadlines; so a thousand clients, or a hostile
/// one, cost the loop little and cannot stop it supervising.
final class ControlServer {
    let listener: ControlListener
    var listenerToken: UInt64 = 0
    /// Accepting paused (out of fds) until then.
    var acceptPausedUntil: Instant?

    var connections: [Int: ControlConnection] = [:]
    private var nextID = 1
    /// No connection has a deadline before this (a lower bound: it may be earlier than the
    /// real earliest, which only costs a scan).
    var earliestDeadline: Instant?
    /// Complete requests left over because a turn's budget ran out.
    var needsService = WorkQueue()
    /// Connections given output since they were last flushed (followers' lines).
    var dirty = WorkQueue()
    /// Instance → the connections following its output.
    var followers: [InstanceID: [Int]] = [:]

    let startedAt: Instant
    let daemonUID: UInt32 = geteuid()
    /// The `control` section the socket was last set up with (reload may change mode/group).
    var appliedControl: ControlConfig
    var groupID: UInt32?
    /// uid → (member of control.group, checked at): NSS is asked at most once a minute per uid.
    private var membership: [UInt32: (member: Bool, at: Instant)] = [:]

    var refusals = RateLimitedLog()
    var busyRefusals = RateLimitedLog()

    /// At most this many clients; beyond it one is accepted, told `busy` and closed.
    static let maxConnections = 1024
    static let acceptsPerTurn = 64
    static let requestsPerTurn = 8
    /// Requests handled per loop turn across all clients: a thousand clients asking for the
    /// status of a thousand instances at once still leave the loop free to reap between turns.
    static let requestsPerLoopTurn = 64
    var requestBudget = ControlServer.requestsPerLoopTurn
    /// Bytes written to one client per turn: a big reply (a crash report) goes out over
    /// several turns instead of holding the loop.
    static let writeBytesPerTurn = 512 << 10
    /// Bytes written to all clients together per turn: a thousand clients each owed a large
    /// reply are served a little each turn, and a `status` between them waits one short turn.
    static let writeBytesPerLoopTurn = 2 << 20
    var writeBudget = ControlServer.writeBytesPerLoopTurn
    /// The loop time control work may take per turn (answering, encoding, writing): past it,
    /// what is left waits for the next turn, in arrival order, so deaths and spawns are never
    /// held up for long and a `status` asked behind a thousand other requests waits a few
    /// short turns, not one long one.
    static let timePerLoopTurn: Duration = .milliseconds(4)
    private var turnEnds = Instant.zero

    func beginTurn(at now: Instant) {
        turnEnds = now + Self.timePerLoopTurn
        requestBudget = Self.requestsPerLoopTurn
        writeBudget = Self.writeBytesPerLoopTurn
    }

    /// This turn still has time for control work.
    var hasTimeLeft: Bool { MonotonicClock.now() < turnEnds }
    /// Bytes held for all clients together (queued replies not yet read). Past it, requests
    /// with big replies (status, logs, crashes, crash) are answered `busy`: a thousand clients
    /// that ask and never read cannot grow the daemon without bound. One client's share is
    /// bounded too: a reply is made a chunk at a time as it reads (ReplySource).
    static let heldBytesBudget = 64 << 20
    let ledger = ReplyLedger()

    /// One fd held in reserve (/dev/null) for the moment the daemon runs out: it is given up to
    /// accept the waiting client, who is told `busy` instead of hanging until it times out.
    private var reserve: FileDescriptor?

    init(listener: ControlListener, control: ControlConfig, groupID: UInt32?, now: Instant) {
        self.listener = listener
        self.appliedControl = control
        self.groupID = groupID
        startedAt = now
        reserve = try? FileDescriptor.open("/dev/null", O_RDONLY)
    }

    /// accept(2) failed for want of fds: spend the reserve on the first waiting client, answer
    /// it `busy`, and take the reserve back. False when there was no reserve to spend.
    func answerWithReserve(outOfDescriptors error: SystemError) -> Bool {
        guard let held = reserve else {
            reserve = try? FileDescriptor.open("/dev/null", O_RDONLY)
            return false
        }
        held.close()
        reserve = nil
        if let client = try? UnixStream.accept(listener.descriptor) {
            let failure = ControlFailure(.busy, "bulkhead is out of file descriptors (\(error.reason)); try again shortly, and raise its limit (LimitNOFILE=, ulimit -n)")
            let bytes = ControlProtocol.encodeError(failure)
            _ = bytes.withUnsafeBytes { try? UnixStream.sendSome(client, $0) }
            client.close()
        }
        reserve = try? FileDescriptor.open("/dev/null", O_RDONLY)
        return reserve != nil
    }

    func closeReserve() {
        reserve?.close()
        reserve = nil
    }

    func makeConnection(_ fd: FileDescriptor, _ peer: PeerCredentials, _ now: Instant) -> ControlConnection {
        let connection = ControlConnection(id: nextID, descriptor: fd, peer: peer, ledger: ledger, now: now)
        nextID += 1
        connections[connection.id] = connection
        return connection
    }

    /// A deadline that may be earlier than every one known.
    func note(_ deadline: Instant?) {
        guard let deadline else { return }
        if earliestDeadline.map({ deadline < $0 }) ?? true { earliestDeadline = deadline }
    }

    /// Root, the daemon's own user, and members of `control.group` may talk to it. The peer's
    /// primary gid is checked first; NSS (supplementary groups) only when that fails, cached.
    func isAuthorized(_ peer: PeerCredentials, _ now: Instant) -> Bool {
        if peer.uid == 0 || peer.uid == daemonUID { return true }
        guard let gid = groupID else { return false }
        if peer.gid == gid { return true }
        if let cached = membership[peer.uid], now < cached.at + .seconds(60) { return cached.member }
        if membership.count > 4096 { membership.removeAll() }
        let member = Users.isMember(uid: peer.uid, ofGroup: gid)
        membership[peer.uid] = (member, now)
        return member
    }

    func forgetMemberships() {
        membership.removeAll()
    }

    /// Who may talk to it, for refusal messages.
    var whoMay: String {
        var who = "root"
        if daemonUID != 0 { who += ", uid \(daemonUID)" }
        if let group = appliedControl.group { who += " and members of group \"\(group)\"" }
        return who
    }
}

/// Lines about hostile or refused clients: the first few in each minute are logged, the rest
/// counted and summed up once the minute is over, so a flood of them cannot flood the log.
struct RateLimitedLog {
    private var windowStart: Instant?
    private var logged = 0
    private(set) var suppressed = 0
    private(set) var total = 0
    static let perWindow = 10
    static let window: Duration = .seconds(60)

    /// Whether this occurrence should be logged; `summary` is a pending count to log first.
    mutating func admit(_ now: Instant) -> (log: Bool, summary: Int) {
        total += 1
        var summary = 0
        if windowStart.map({ now >= $0 + Self.window }) ?? true {
            summary = suppressed
            suppressed = 0
            logged = 0
            windowStart = now
        }
        if logged < Self.perWindow {
            logged += 1
            return (true, summary)
        }
        suppressed += 1
        return (false, summary)
    }
}

/// Connections with work left over, first come first served: a set for membership, a list for
/// the order.
struct WorkQueue {
    private var order: [Int] = []
    private var members: Set<Int> = []

    var isEmpty: Bool { order.isEmpty }

    mutating func insert(_ id: Int) {
        if members.insert(id).inserted { order.append(id) }
    }

    mutating func remove(_ id: Int) {
        if members.remove(id) != nil { order.removeAll { $0 == id } }
    }

    /// Everything queued, in order; the queue is left empty.
    mutating func takeAll() -> [Int] {
        defer {
            order = []
            members = []
        }
        return order
    }
}
