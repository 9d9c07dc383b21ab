import BulkheadControl
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// What executes a control command: the daemon, which holds what the commands read and change.
protocol ControlContext: AnyObject {
    func execute(_ command: ControlCommand, from peer: PeerCredentials, _ now: Instant) -> ControlReply
    func publish(_ event: SupervisorEvent)
}

/// A command's answer.
enum ControlReply {
    /// One reply line, encoded.
    case bytes([UInt8])
    case failure(ControlFailure)
    /// `prefix`, then what `source` makes as the client reads (a crash report's file, `logs`);
    /// `follow`: instances whose new lines wake the source (`logs -f`).
    case stream(prefix: [UInt8], ReplySource, follow: [InstanceID])
    /// `crash ID` of a report still being written: answered once it is (`reportsWritten`),
    /// never by waiting on the loop.
    case awaitReport(String)
    /// `events -f`: `prefix`, then what `source` makes, woken by every new event for good.
    case eventStream(prefix: [UInt8], ReplySource)
    /// `reexec`: answered when it failed (`reexecFinished`), or by the new daemon image once it
    /// serves.
    case awaitReexec
}

/// The control socket (SPEC §5, docs/CONTROL.md): the listener, its clients, and their share of
/// each loop turn. Every client gets a bounded share (reads, requests, bytes written, time), a
/// bounded buffer each way and deadlines (its `ControlSession`), so a thousand clients, or a
/// hostile one, cost the loop little and cannot stop it supervising. Serviced only from the
/// loop, never re-entered: a request is served at the top level of a turn.
final class ControlServer {
    let listener: ControlListener
    private var listenerToken: UInt64 = 0
    /// Accepting paused (out of fds, no reserve) until then.
    private var acceptPausedUntil: Instant?
    var connections: [Int: ControlConnection] = [:]
    var nextID = 1
    /// No connection has a deadline before this (a lower bound: it may be earlier than the
    /// real earliest, which only costs a scan).
    private var earliestDeadline: Instant?
    /// Complete requests left over because a turn's budget ran out, first come first served.
    var needsService = WorkQueue()
    /// Connections with output to write or make (followers woken by lines; budgets spent).
    private var dirty = WorkQueue()
    /// Instance → the connections following its output.
    private var followers: [InstanceID: [Int]] = [:]
    /// Connections whose `crash ID` waits for the report to be written.
    private var awaitingReports: Set<Int> = []
    /// Connections following the event stream (`events -f`).
    private var eventFollowers: Set<Int> = []
    /// Connections whose `reexec` waits for its outcome.
    var awaitingReexec: Set<Int> = []

    let startedAt: Instant
    private let daemonUID: UInt32 = geteuid()
    /// The `control` section the socket was last set up with (reload may change mode/group).
    private(set) var appliedControl: ControlConfig
    private var groupID: UInt32?
    /// uid → (member of control.group, checked at): NSS is asked at most once a minute per uid.
    private var membership: [UInt32: (member: Bool, at: Instant)] = [:]
    private var refusals = RateLimitedLog()
    private var busyRefusals = RateLimitedLog()
    /// One fd held in reserve (/dev/null) for the moment the daemon runs out: it is given up to
    /// accept the waiting client, who is told `busy` instead of hanging until it times out.
    private var reserve: FileDescriptor?
    let ledger = ReplyLedger()
    private let readBuffer: UnsafeMutableRawBufferPointer

    let loop: EventLoop
    private unowned let context: ControlContext
    /// Followers' instances got a new follower (or lost one): the output pipeline counts them.
    var followersChanged: (InstanceID, Int) -> Void = { _, _ in }

    /// At most this many clients; beyond it one is accepted, told `busy` and closed.
    static let maxConnections = 1024
    static let acceptsPerTurn = 64
    static let requestsPerTurn = 8
    /// Requests handled per loop turn across all clients: a thousand clients asking for the
    /// status of a thousand instances at once still leave the loop free to reap between turns.
    static let requestsPerLoopTurn = 64
    private var requestBudget = ControlServer.requestsPerLoopTurn
    /// Bytes written to one client per turn: a big reply (a crash report) goes out over
    /// several turns instead of holding the loop.
    static let writeBytesPerTurn = 512 << 10
    /// Bytes made for all clients together per turn: a thousand clients each owed a large reply
    /// are served a little each turn, and a `status` between them waits one short turn.
    static let writeBytesPerLoopTurn = 2 << 20
    private var writeBudget = ControlServer.writeBytesPerLoopTurn
    /// The loop time control work may take per turn (making replies): past it, what is left
    /// waits for the next turn, in arrival order.
    static let timePerLoopTurn: Duration = .milliseconds(4)
    private var turnEnds = Instant.zero
    /// Bytes held for all clients together (queued replies not yet read). Past it, requests
    /// with big replies (status, logs, crashes, crash) are answered `busy`.
    static let heldBytesBudget = 64 << 20

    init(listener: ControlListener, control: ControlConfig, groupID: UInt32?, loop: EventLoop, context: ControlContext,
         now: Instant, startedAt: Instant? = nil) throws(SystemError) {
        self.listener = listener
        self.appliedControl = control
        self.groupID = groupID
        self.loop = loop
        self.context = context
        self.startedAt = startedAt ?? now
        reserve = try? FileDescriptor.open("/dev/null", O_RDONLY)
        readBuffer = .allocate(byteCount: 64 << 10, alignment: 16)
        listenerToken = try loop.register(listener.descriptor, .readable, .controlListener)
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: - Turns

    func beginTurn(at now: Instant) {
        turnEnds = now + Self.timePerLoopTurn
        requestBudget = Self.requestsPerLoopTurn
        writeBudget = Self.writeBytesPerLoopTurn
    }

    private var hasTimeLeft: Bool { MonotonicClock.now() < turnEnds }

    /// When the loop must look at the control socket again without an fd being ready.
    var deadline: Instant? {
        if !needsService.isEmpty || !dirty.isEmpty { return .zero }   // more to do at once
        return [earliestDeadline, acceptPausedUntil].compactMap { $0 }.min()
    }

    /// End of every loop turn: leftover requests, output to make, deadlines.
    func endTurn(_ now: Instant) {
        if let paused = acceptPausedUntil, paused <= now {
            acceptPausedUntil = nil
            try? loop.modify(listener.descriptor, .readable, token: listenerToken)
        }
        for id in needsService.takeAll() {
            guard let connection = connections[id] else { continue }
            serveRequests(connection, now)
            settle(connection, now)
        }
        let waiting = dirty.takeAll()
        for (position, id) in waiting.enumerated() {
            guard hasTimeLeft else {
                // The turn's time is spent: the rest keep their places for the next turn.
                for later in waiting[position...] { dirty.insert(later) }
                break
            }
            guard let connection = connections[id] else { continue }
            flush(connection, now)
            settle(connection, now)
        }
        if let earliest = earliestDeadline, earliest <= now { expire(now) }
    }

    // MARK: - Accepting

    /// The listener is readable.
    func acceptReady(_ now: Instant) {
        for _ in 0..<Self.acceptsPerTurn {
            let accepted: FileDescriptor?
            do {
                accepted = try UnixStream.accept(listener.descriptor)
            } catch {
                if [EMFILE, ENFILE].contains(error.errno), answerWithReserve(outOfDescriptors: error) {
                    let (log, summary) = busyRefusals.admit(now)
                    if log {
                        let earlier = summary > 0 ? " (\(summary) more since the last such line)" : ""
                        context.publish(SupervisorEvent(.daemon, nil, priority: 3, message: "control connection answered `busy`: bulkhead is out of file descriptors (\(error.reason))\(earlier)"))
                    }
                    continue
                }
                if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno) { pauseAccepting(error, now) }
                return
            }
            guard let fd = accepted else { return }
            admit(fd, now)
        }
    }

    /// Out of fds with no reserve: the pending connection would make the listener readable on
    /// every turn, so stop listening for a moment instead of spinning.
    private func pauseAccepting(_ error: SystemError, _ now: Instant) {
        try? loop.modify(listener.descriptor, [], token: listenerToken)
        acceptPausedUntil = now + .milliseconds(250)
        context.publish(SupervisorEvent(.daemon, nil, priority: 3, message: "control socket: cannot accept (\(error.reason)); pausing for 250ms with \(connections.count) clients connected"))
    }

    /// accept(2) failed for want of fds: spend the reserve on the first waiting client, answer
    /// it `busy`, and take the reserve back. False when there was no reserve to spend.
    private func answerWithReserve(outOfDescriptors error: SystemError) -> Bool {
        guard let held = reserve else {
            reserve = try? FileDescriptor.open("/dev/null", O_RDONLY)
            return false
        }
        held.close()
        reserve = nil
        if let client = try? UnixStream.accept(listener.descriptor) {
            refuse(client, ControlFailure(.busy, "bulkhead is out of file descriptors (\(error.reason)); try again shortly, and raise its limit (LimitNOFILE=, ulimit -n)"))
        }
        reserve = try? FileDescriptor.open("/dev/null", O_RDONLY)
        return reserve != nil
    }

    private func admit(_ fd: FileDescriptor, _ now: Instant) {
        guard connections.count < Self.maxConnections else {
            refuse(fd, ControlFailure(.busy, "bulkhead has \(Self.maxConnections) control connections open; try again shortly"))
            let (log, summary) = busyRefusals.admit(now)
            if log {
                let earlier = summary > 0 ? " (\(summary) more since the last such line)" : ""
                context.publish(SupervisorEvent(.daemon, nil, priority: 4, message: "control connection refused: \(Self.maxConnections) clients already connected\(earlier)"))
            }
            return
        }
        let peer: PeerCredentials
        do {
            peer = try UnixStream.peerCredentials(fd)
        } catch {
            fd.close()
            return
        }
        guard isAuthorized(peer, now) else {
            let group = appliedControl.group.map { "add uid \(peer.uid) to group \"\($0)\" (control.group)" } ?? "set control.group to a group of uid \(peer.uid)"
            refuse(fd, ControlFailure(.permissionDenied, "permission denied: uid \(peer.uid) may not use this bulkhead (only \(whoMay) may); run it as root, or \(group)"))
            let (log, summary) = refusals.admit(now)
            if summary > 0 {
                context.publish(SupervisorEvent(.daemon, nil, priority: 4, message: "control: \(summary) more connections refused in the last minute"))
            }
            if log {
                context.publish(SupervisorEvent(.daemon, nil, pid: peer.pid, priority: 4, message: "control connection refused: permission denied for uid \(peer.uid) gid \(peer.gid) pid \(peer.pid) (only \(whoMay) may connect)"))
            }
            return
        }
        let connection = ControlConnection(id: nextID, descriptor: fd, peer: peer, ledger: ledger, now: now)
        nextID += 1
        do {
            connection.token = try loop.register(fd, .readable, .controlClient(connection.id))
        } catch {
            fd.close()
            return
        }
        connections[connection.id] = connection
        connection.interest = .readable
        note(connection.session.deadline(hasPendingOutput: false))
    }

    /// One error line, best effort (the socket is fresh: its buffer has room), then close.
    private func refuse(_ fd: FileDescriptor, _ failure: ControlFailure) {
        let bytes = ControlProtocol.encodeError(failure)
        _ = bytes.withUnsafeBytes { try? UnixStream.sendSome(fd, $0) }
        fd.close()
    }

    /// Root, the daemon's own user, and members of `control.group` may talk to it. The peer's
    /// primary gid is checked first; NSS (supplementary groups) only when that fails, cached.
    private func isAuthorized(_ peer: PeerCredentials, _ now: Instant) -> Bool {
        if peer.uid == 0 || peer.uid == daemonUID { return true }
        guard let gid = groupID else { return false }
        if peer.gid == gid { return true }
        if let cached = membership[peer.uid], now < cached.at + .seconds(60) { return cached.member }
        if membership.count > 4096 { membership.removeAll() }
        let member = Users.isMember(uid: peer.uid, ofGroup: gid)
        membership[peer.uid] = (member, now)
        return member
    }

    /// Who may talk to it, for refusal messages.
    private var whoMay: String {
        var who = "root"
        if daemonUID != 0 { who += ", uid \(daemonUID)" }
        if let group = appliedControl.group { who += " and members of group \"\(group)\"" }
        return who
    }

    // MARK: - A client

    /// A client connection is readable, writable or hung up.
    func clientReady(_ id: Int, _ event: Epoll.Event, _ now: Instant) {
        guard let connection = connections[id] else { return }
        if connection.hasPendingOutput { flush(connection, now) }
        if !connection.isClosed && (event.isReadable || event.isHangup) && connection.session.wantsInput {
            read(connection, now)
        }
        if !connection.isClosed { serveRequests(connection, now) }
        if !connection.isClosed && event.isHangup && !event.isReadable && !connection.hasPendingOutput {
            perform(connection.session.peerGone(), connection, now)   // gone both ways, nothing left to say
        }
        settle(connection, now)
    }

    /// One read per turn.
    private func read(_ connection: ControlConnection, _ now: Instant) {
        let bytes: UnsafeRawBufferPointer?
        do {
            bytes = try connection.read(into: readBuffer)
        } catch {
            perform(connection.session.peerGone(), connection, now)
            return
        }
        guard let bytes else { return }
        if bytes.isEmpty {
            perform(connection.session.inputClosed(now), connection, now)
        } else {
            perform(connection.session.received(bytes, now), connection, now)
        }
    }

    /// Complete requests, one at a time: the next only once the previous reply is written, and
    /// at most `requestsPerTurn` per client and `requestsPerLoopTurn` in all per turn.
    private func serveRequests(_ connection: ControlConnection, _ now: Instant) {
        var budget = Self.requestsPerTurn
        while !connection.isClosed && !connection.hasPendingOutput && connection.session.state == .idle
                && connection.session.hasCompleteRequest {
            // Counted, not timed: answering is cheap (a reply is made as it is written, and
            // making has the turn's time budget); a request read now is answered now.
            guard budget > 0, requestBudget > 0 else {
                needsService.insert(connection.id)
                return
            }
            budget -= 1
            requestBudget -= 1
            switch connection.session.takeRequest(now) {
            case .success(let request)?:
                switch ControlCommand.parse(request) {
                case .success(let command): execute(command, connection, now)
                case .failure(let failure): answer(failure, connection, now)
                }
            case .failure(let failure)?:
                answer(failure, connection, now)   // the session closes after it
            case nil:
                return
            }
            flush(connection, now)
        }
    }

    private func execute(_ command: ControlCommand, _ connection: ControlConnection, _ now: Instant) {
        if ledger.held > Self.heldBytesBudget && command.hasLargeReply {
            answer(ControlFailure(.busy, "bulkhead holds \(ledger.held >> 20) MiB of replies its clients have not read yet; try again shortly"), connection, now)
            return
        }
        deliver(context.execute(command, from: connection.peer, now), connection, now)
    }

    func deliver(_ reply: ControlReply, _ connection: ControlConnection, _ now: Instant) {
        switch reply {
        case .bytes(let bytes):
            if bytes.count > 128 << 10 {
                // Room for a whole status of a thousand instances (~250 KiB) in the socket, so
                // it goes out in one turn instead of waiting a turn for the client to read.
                UnixSocketCalls.setSendBuffer(connection.descriptor, bytes: 512 << 10)
            }
            connection.queue(bytes)
            connection.session.replyQueued(follow: false, now)
        case .failure(let failure):
            answer(failure, connection, now)
        case .stream(let prefix, let source, let ids):
            connection.queue(prefix)
            connection.stream(source)
            connection.session.replyQueued(follow: !ids.isEmpty, now)
            if !ids.isEmpty { follow(connection, ids) }
        case .awaitReport(let id):
            connection.awaitedReport = id
            awaitingReports.insert(connection.id)
        case .eventStream(let prefix, let source):
            connection.queue(prefix)
            connection.stream(source)
            connection.session.replyQueued(follow: true, now)
            connection.followsEvents = true
            eventFollowers.insert(connection.id)
        case .awaitReexec:
            awaitingReexec.insert(connection.id)
        }
    }

    /// A re-exec ended: every client that asked for it gets `reply`.
    func reexecFinished(_ reply: ControlReply, _ now: Instant) {
        for id in awaitingReexec.sorted() {
            guard let connection = connections[id] else { continue }
            deliver(reply, connection, now)
            flush(connection, now)
            settle(connection, now)
        }
        awaitingReexec = []
    }

    /// An error reply to the request in hand (the session already knows whether to close).
    private func answer(_ failure: ControlFailure, _ connection: ControlConnection, _ now: Instant) {
        connection.queue(ControlProtocol.encodeError(failure))
        connection.session.replyQueued(follow: false, now)
    }

    private func perform(_ actions: [ControlSession.Action], _ connection: ControlConnection, _ now: Instant) {
        for action in actions {
            switch action {
            case .fail(let failure, _):
                connection.queue(ControlProtocol.encodeError(failure))
                flush(connection, now)
            case .close:
                connection.release()
            }
        }
    }

    /// Writes what it can: bytes already made go out at once (a status reply never waits behind
    /// a thousand `logs` replies); making more waits for a turn with time and budget left.
    func flush(_ connection: ControlConnection, _ now: Instant) {
        guard !connection.isClosed else { return }
        let before = connection.written
        let mayRefill = { [unowned self] in writeBudget - (connection.written - before) > 0 && hasTimeLeft }
        guard connection.flush(budget: Self.writeBytesPerTurn, mayRefill: mayRefill) else {
            perform(connection.session.peerGone(), connection, now)
            return
        }
        writeBudget -= connection.written - before
        if connection.written > before { connection.session.wrote(now) }
        if connection.waitsForRefill { dirty.insert(connection.id) }
        if !connection.hasPendingOutput { perform(connection.session.replyWritten(now), connection, now) }
    }

    /// After any work on a connection: close it, or ask epoll for what it now waits for.
    func settle(_ connection: ControlConnection, _ now: Instant) {
        if !connection.isClosed && !connection.hasPendingOutput, case .closing = connection.session.state {
            perform(connection.session.replyWritten(now), connection, now)
        }
        if connection.isClosed {
            drop(connection)
            return
        }
        var wanted: Epoll.Interest = []
        if connection.hasPendingOutput { wanted.insert(.writable) }
        if connection.session.wantsInput { wanted.insert(.readable) }
        if wanted != connection.interest {
            do {
                try loop.modify(connection.descriptor, wanted, token: connection.token)
                connection.interest = wanted
            } catch {
                _ = connection.session.peerGone()
                connection.release()
                drop(connection)
                return
            }
        }
        note(connection.session.deadline(hasPendingOutput: connection.hasPendingOutput))
    }

    /// Forgets a closed connection and closes its fd.
    func drop(_ connection: ControlConnection) {
        guard connections[connection.id] === connection else { return }
        loop.unregister(connection.descriptor, token: connection.token)
        connection.descriptor.close()
        connections[connection.id] = nil
        needsService.remove(connection.id)
        dirty.remove(connection.id)
        awaitingReports.remove(connection.id)
        eventFollowers.remove(connection.id)
        awaitingReexec.remove(connection.id)
        for id in connection.following {
            followers[id]?.removeAll { $0 == connection.id }
            if followers[id]?.isEmpty == true { followers[id] = nil }
            followersChanged(id, followers[id]?.count ?? 0)
        }
        connection.following = []
    }

    private func follow(_ connection: ControlConnection, _ ids: [InstanceID]) {
        connection.following = ids
        for id in ids {
            followers[id, default: []].append(connection.id)
            followersChanged(id, followers[id]?.count ?? 0)
        }
    }

    /// Lines were appended to `id`'s ring: its followers read them when they next write.
    func linesAppended(_ id: InstanceID) {
        for client in followers[id] ?? [] {
            guard let connection = connections[client] else { continue }
            connection.wake()
            dirty.insert(client)
        }
    }

    /// An event was added to the stream: its followers read it when they next write.
    func eventsAppended() {
        for client in eventFollowers {
            guard let connection = connections[client] else { continue }
            connection.wake()
            dirty.insert(client)
        }
    }

    var eventFollowerCount: Int { eventFollowers.count }

    /// The number of followers of `id` (an instance that got its output record after its
    /// followers came learns of them).
    func followerCount(_ id: InstanceID) -> Int {
        followers[id]?.count ?? 0
    }

    /// The crash report writer finished reports: `crash ID` requests that waited get answers.
    func reportsWritten(_ now: Instant) {
        for id in Array(awaitingReports) {
            guard let connection = connections[id], let report = connection.awaitedReport else {
                awaitingReports.remove(id)
                continue
            }
            let reply = context.execute(.crash(id: report), from: connection.peer, now)
            if case .awaitReport = reply { continue }
            awaitingReports.remove(id)
            connection.awaitedReport = nil
            deliver(reply, connection, now)
            flush(connection, now)
            settle(connection, now)
        }
    }

    // MARK: - Deadlines

    /// A deadline that may be earlier than every one known.
    func note(_ deadline: Instant?) {
        guard let deadline else { return }
        if earliestDeadline.map({ deadline < $0 }) ?? true { earliestDeadline = deadline }
    }

    /// Looks at every client: acts on passed deadlines, and finds the next one.
    private func expire(_ now: Instant) {
        earliestDeadline = nil
        for connection in Array(connections.values) {
            let actions = connection.session.deadlinePassed(hasPendingOutput: connection.hasPendingOutput, now)
            perform(actions, connection, now)
            settle(connection, now)
        }
    }

    // MARK: - Settings and the end

    /// `control.mode` or `control.group` changed by a reload: applied to the live socket.
    /// (A new `control.socket` path takes effect at the next start.)
    func apply(_ new: ControlConfig, groupID gid: UInt32?) throws(SystemError) {
        let old = appliedControl
        appliedControl = new
        membership.removeAll()
        guard new.mode != old.mode || new.group != old.group else { return }
        try listener.apply(mode: new.mode, group: gid)
        groupID = gid
    }

    /// The loop is about to exit: every client is closed (followers told why) and the socket
    /// removed.
    func stop() {
        let end = ControlProtocol.encodeEvent("end", [("reason", "bulkhead is shutting down")])
        for connection in connections.values where !connection.isClosed {
            if (!connection.following.isEmpty || connection.followsEvents) && connection.pendingBytes == 0 {
                _ = end.withUnsafeBytes { try? UnixStream.sendSome(connection.descriptor, $0) }
            }
            connection.session.shutdown()
            connection.release()
            loop.unregister(connection.descriptor, token: connection.token)
            connection.descriptor.close()
        }
        connections = [:]
        loop.unregister(listener.descriptor, token: listenerToken)
        listener.close()
        reserve?.close()
        reserve = nil
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
