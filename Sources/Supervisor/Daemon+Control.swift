import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// The control socket, serviced from the loop: accept, permission check, bounded reads and
/// writes, request framing, deadlines. What each request does is in Daemon+ControlCommands.swift.
extension Daemon {
    /// Binds the control socket and registers it with `.control`.
    func startControl() throws(SystemError) {
        let control = supervision.config.control
        guard let path = ControlSocketPath.forDaemon(override: options.socketPath, configured: control.socket) else {
            throw SystemError(ENOENT, "no place for the control socket: XDG_RUNTIME_DIR is not set (set control.socket in the config, or pass --socket)")
        }
        let gid = try controlGroupID(control.group)
        let listener = try ControlListener(path: path, mode: control.mode, group: gid)
        let server = ControlServer(listener: listener, control: control, groupID: gid, now: MonotonicClock.now())
        do {
            server.listenerToken = try register(listener.descriptor, .readable, .control)
        } catch {
            listener.close()
            throw error
        }
        controlServer = server
    }

    func controlGroupID(_ group: String?) throws(SystemError) -> UInt32? {
        guard let group else { return nil }
        do {
            return try Users.lookup(group: group)
        } catch {
            throw SystemError(error.errno, "control.group \"\(group)\" cannot be used (\(error.call))")
        }
    }

    /// The listener is readable.
    func acceptControl() {
        guard let server = controlServer else { return }
        let now = MonotonicClock.now()
        for _ in 0..<ControlServer.acceptsPerTurn {
            let accepted: FileDescriptor?
            do {
                accepted = try UnixStream.accept(server.listener.descriptor)
            } catch {
                if [EMFILE, ENFILE].contains(error.errno), server.answerWithReserve(outOfDescriptors: error) {
                    let (log, summary) = server.busyRefusals.admit(now)
                    if log {
                        let earlier = summary > 0 ? " (\(summary) more since the last such line)" : ""
                        emit(SupervisorEvent(.daemon, nil, priority: 3, message: "control connection answered `busy`: bulkhead is out of file descriptors (\(error.reason))\(earlier)"))
                    }
                    continue
                }
                if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno) { pauseAccepting(server, error, now) }
                return
            }
            guard let fd = accepted else { return }
            admit(fd, server, now)
        }
    }

    /// Out of fds: the pending connection would make the listener readable on every turn, so
    /// stop listening for a moment instead of spinning.
    func pauseAccepting(_ server: ControlServer, _ error: SystemError, _ now: Instant) {
        try? controlEpoll.modify(server.listener.descriptor, [], token: server.listenerToken)
        server.acceptPausedUntil = now + .milliseconds(250)
        emit(SupervisorEvent(.daemon, nil, priority: 3, message: "control socket: cannot accept (\(error.reason)); pausing for 250ms with \(server.connections.count) clients connected"))
    }

    func admit(_ fd: FileDescriptor, _ server: ControlServer, _ now: Instant) {
        guard server.connections.count < ControlServer.maxConnections else {
            refuse(fd, ControlFailure(.busy, "bulkhead has \(ControlServer.maxConnections) control connections open; try again shortly"))
            let (log, summary) = server.busyRefusals.admit(now)
            if log {
                let earlier = summary > 0 ? " (\(summary) more since the last such line)" : ""
                emit(SupervisorEvent(.daemon, nil, priority: 4, message: "control connection refused: \(ControlServer.maxConnections) clients already connected\(earlier)"))
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
        guard server.isAuthorized(peer, now) else {
            let group = server.appliedControl.group.map { "add uid \(peer.uid) to group \"\($0)\" (control.group)" } ?? "set control.group to a group of uid \(peer.uid)"
            refuse(fd, ControlFailure(.permissionDenied, "permission denied: uid \(peer.uid) may not use this bulkhead (only \(server.whoMay) may); run it as root, or \(group)"))
            let (log, summary) = server.refusals.admit(now)
            if summary > 0 {
                emit(SupervisorEvent(.daemon, nil, priority: 4, message: "control: \(summary) more connections refused in the last minute"))
            }
            if log {
                emit(SupervisorEvent(.daemon, nil, pid: peer.pid, priority: 4, message: "control connection refused: permission denied for uid \(peer.uid) gid \(peer.gid) pid \(peer.pid) (only \(server.whoMay) may connect)"))
            }
            return
        }
        let connection = server.makeConnection(fd, peer, now)
        do {
            connection.token = try register(fd, .readable, .controlClient(connection.id))
        } catch {
            server.connections[connection.id] = nil
            fd.close()
            return
        }
        connection.interest = .readable
        server.note(connection.deadline)
    }

    /// One error line, best effort (the socket is fresh: its buffer has room), then close.
    func refuse(_ fd: FileDescriptor, _ failure: ControlFailure) {
        let bytes = ControlProtocol.encodeError(failure)
        _ = bytes.withUnsafeBytes { try? UnixStream.sendSome(fd, $0) }
        fd.close()
    }

    /// A client connection is readable/writable/hung up.
    func serviceControlClient(_ client: Int, _ event: Epoll.Event) {
        guard let server = controlServer, let connection = server.connections[client] else { return }
        let now = MonotonicClock.now()
        if connection.hasPendingOutput {
            flushControl(connection, now)
        }
        if !connection.closed && (event.isReadable || event.isHangup) {
            readControl(connection, server, now)
        }
        if !connection.closed {
            serveRequests(connection, server, now)
        }
        if !connection.closed && event.isHangup && !event.isReadable && !connection.hasPendingOutput {
            // Gone both ways with nothing left to say.
            connection.close()
        }
        settle(connection, server)
    }

    /// One read per turn, and none while a complete request is still waiting: what a client
    /// can make us hold is one request line plus one read.
    func readControl(_ connection: ControlConnection, _ server: ControlServer, _ now: Instant) {
        guard !connection.inputClosed else { return }
        if !connection.isFollowing && (connection.closeWhenFlushed || connection.hasCompleteLine) { return }
        let n: Int?
        do {
            n = try connection.descriptor.read(into: readBuffer)
        } catch {
            connection.close()
            return
        }
        guard let n else { return }
        if n == 0 {
            connection.inputClosed = true
            return
        }
        if connection.isFollowing { return }   // a follower has nothing more to ask: ignored
        connection.received(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), now)
        if connection.requestExceeds(ControlProtocol.maxRequestBytes) {
            answer(connection, failure: ControlFailure(.tooLarge, "the request is longer than \(ControlProtocol.maxRequestBytes) bytes; bulkhead's requests are small JSON lines"), close: true, now)
        }
    }

    /// Handles complete requests, one at a time: the next only once the previous reply is
    /// written out, and at most `requestsPerTurn` per turn.
    func serveRequests(_ connection: ControlConnection, _ server: ControlServer, _ now: Instant) {
        var budget = ControlServer.requestsPerTurn
        while !connection.closed && !connection.closeWhenFlushed && !connection.isFollowing && !connection.hasPendingOutput {
            guard connection.deferred != nil || connection.hasCompleteLine else { break }
            // Counted, not timed: answering is cheap (a reply is made later, as it is written,
            // and writing has the turn's time budget); a request read now is answered now.
            guard budget > 0, server.requestBudget > 0 else {
                server.needsService.insert(connection.id)
                return
            }
            budget -= 1
            server.requestBudget -= 1
            if connection.requestExceeds(ControlProtocol.maxRequestBytes) {
                answer(connection, failure: ControlFailure(.tooLarge, "the request is longer than \(ControlProtocol.maxRequestBytes) bytes; bulkhead's requests are small JSON lines"), close: true, now)
                break
            }
            let request: Result<ControlRequest, ControlFailure>?
            if let deferred = connection.deferred {
                connection.deferred = nil
                request = .success(deferred)
            } else {
                request = connection.takeLine(now) { ControlRequest.parse($0) }
            }
            switch request {
            case .success(let request)? where performDepth > 0 && !Self.nestableCommands.contains(request.command):
                // Served between two spawns or deaths of a burst: only what cannot change the
                // instance table runs here; the rest waits for the end of this loop turn.
                connection.deferred = request
                server.needsService.insert(connection.id)
                return
            case .success(let request)? where server.ledger.held > ControlServer.heldBytesBudget && Self.bigReplyCommands.contains(request.command):
                answer(connection, failure: ControlFailure(.busy, "bulkhead holds \(server.ledger.held >> 20) MiB of replies its clients have not read yet; try again shortly"), close: false, now)
            case .success(let request)?:
                answer(connection, request, now)
            case .failure(let failure)?:
                answer(connection, failure: failure, close: true, now)
            case nil:
                break
            }
            flushControl(connection, now)
        }
        if connection.inputClosed && !connection.closeWhenFlushed && !connection.isFollowing && !connection.hasCompleteLine {
            if connection.unhandledInput > 0 {
                answer(connection, failure: ControlFailure(.badRequest, "the request ended without its newline (truncated); end every request with \\n"), close: true, now)
            } else {
                connection.requestClose(now)
            }
        }
    }

    /// Requests whose replies may be large: refused while the clients' unread replies are over
    /// budget.
    static let bigReplyCommands: Set<String> = ["status", "logs", "crashes", "crash"]

    /// Requests that may be answered in the middle of performing actions (they only read).
    static let nestableCommands: Set<String> = ["ping", "status", "logs", "crashes"]

    func answer(_ connection: ControlConnection, _ request: ControlRequest, _ now: Instant) {
        switch executeControl(request, connection, now) {
        case .result(let result):
            var bytes: [UInt8] = []
            ControlProtocol.appendResult(result, to: &bytes)
            connection.queue(bytes, now)
        case .encoded(let bytes):
            if bytes.count > 128 << 10 {
                // Room for a whole status of a thousand instances (~250 KiB) in the socket, so
                // it goes out in one turn instead of waiting a turn for the client to read.
                UnixSocketCalls.setSendBuffer(connection.descriptor, bytes: 512 << 10)
            }
            connection.queue(bytes, now)
        case .failure(let failure):
            answer(connection, failure: failure, close: false, now)
        case .stream(let prefix, let source, let ids):
            connection.queue(prefix, now)
            connection.stream(source, now)
            if !ids.isEmpty { follow(connection, ids) }
        }
    }

    func answer(_ connection: ControlConnection, failure: ControlFailure, close: Bool, _ now: Instant) {
        connection.queue(ControlProtocol.encodeError(failure), now)
        if close { connection.requestClose(now) }
        flushControl(connection, now)
    }

    func flushControl(_ connection: ControlConnection, _ now: Instant) {
        guard !connection.closed, let server = controlServer else { return }
        // Bytes already made go out at once (a status reply never waits behind a thousand
        // `logs` replies); making more waits for a turn with time and budget left.
        let before = connection.written
        let mayRefill = { server.writeBudget - (connection.written - before) > 0 && server.hasTimeLeft }
        if !connection.flush(budget: ControlServer.writeBytesPerTurn, mayRefill: mayRefill, now) {
            connection.close()
            return
        }
        server.writeBudget -= connection.written - before
        if connection.waitsForRefill {
            server.dirty.insert(connection.id)   // this turn's share is spent: next turn
        }
    }

    /// After any work on a connection: close it, or ask epoll for what it now waits for.
    func settle(_ connection: ControlConnection, _ server: ControlServer) {
        if !connection.closed && connection.closeWhenFlushed && !connection.hasPendingOutput {
            connection.close()
        }
        if connection.closed {
            drop(connection, server)
            return
        }
        let wanted: Epoll.Interest
        if connection.hasPendingOutput {
            wanted = .writable
        } else if connection.inputClosed || connection.closeWhenFlushed {
            wanted = []   // hang-ups are reported regardless
        } else {
            wanted = .readable
        }
        if wanted != connection.interest {
            do {
                try controlEpoll.modify(connection.descriptor, wanted, token: connection.token)
                connection.interest = wanted
            } catch {
                connection.close()
                drop(connection, server)
                return
            }
        }
        server.note(connection.deadline)
    }

    /// Forgets a closed connection and closes its fd.
    func drop(_ connection: ControlConnection, _ server: ControlServer) {
        guard server.connections[connection.id] === connection else { return }
        unregister(connection.descriptor, token: connection.token)
        connection.descriptor.close()
        server.connections[connection.id] = nil
        server.needsService.remove(connection.id)
        server.dirty.remove(connection.id)
        if connection.isFollowing {
            for id in connection.following {
                server.followers[id]?.removeAll { $0 == connection.id }
                if server.followers[id]?.isEmpty == true { server.followers[id] = nil }
                slots[id]?.followers = server.followers[id]?.count ?? 0
            }
            connection.following = []
        }
    }

    func follow(_ connection: ControlConnection, _ ids: [InstanceID]) {
        guard let server = controlServer else { return }
        connection.following = ids
        for id in ids {
            server.followers[id, default: []].append(connection.id)
            slots[id]?.followers = server.followers[id]?.count ?? 0
        }
    }

    /// The earliest client deadline (slow or idle clients), so the loop wakes for it.
    func controlDeadline() -> Instant? {
        guard let server = controlServer else { return nil }
        if !server.needsService.isEmpty || !server.dirty.isEmpty { return .zero }   // more to do at once
        return [server.earliestDeadline, server.acceptPausedUntil].compactMap { $0 }.min()
    }

    /// End of every loop turn: leftover requests, followers' lines, deadlines.
    func controlTick(_ now: Instant) {
        guard let server = controlServer else { return }
        if server.appliedControl != supervision.config.control { applyControlSettings(server) }
        if let paused = server.acceptPausedUntil, paused <= now {
            server.acceptPausedUntil = nil
            try? controlEpoll.modify(server.listener.descriptor, .readable, token: server.listenerToken)
        }
        if !server.needsService.isEmpty {
            for id in server.needsService.takeAll() {
                guard let connection = server.connections[id] else { continue }
                serveRequests(connection, server, now)
                settle(connection, server)
            }
        }
        if !server.dirty.isEmpty {
            let dirty = server.dirty.takeAll()
            for (position, id) in dirty.enumerated() {
                guard server.hasTimeLeft else {
                    // The turn's time is spent: the rest keep their places for the next turn.
                    for waiting in dirty[position...] { server.dirty.insert(waiting) }
                    break
                }
                guard let connection = server.connections[id] else { continue }
                flushControl(connection, now)
                settle(connection, server)
            }
        }
        // A slot made after `logs -f` began (first spawn, re-added instance) learns of it here,
        // before its first line can be read.
        for (id, clients) in server.followers where slots[id].map({ $0.followers != clients.count }) ?? false {
            slots[id]?.followers = clients.count
        }
        if let earliest = server.earliestDeadline, earliest <= now {
            expireControlClients(server, now)
        }

    }

    /// Looks at every client: acts on passed deadlines, and finds the next one.
    func expireControlClients(_ server: ControlServer, _ now: Instant) {
        server.earliestDeadline = nil
        for connection in Array(server.connections.values) {
            guard let deadline = connection.deadline else { continue }
            if deadline > now {
                server.note(deadline)
                continue
            }
            if connection.closeWhenFlushed || connection.hasPendingOutput {
                // Closing and not reading what is left, or not reading at all.
                connection.close()
            } else if connection.requestStartedAt != nil {
                answer(connection, failure: ControlFailure(.timeout, "the request was not finished within \(Units.format(ControlProtocol.requestDeadline)) of its first byte"), close: true, now)
            } else {
                connection.close()   // idle
            }
            settle(connection, server)
        }
    }

    /// Lines were appended to `slot`'s ring (called only when `slot.followers > 0`): its
    /// followers read them from the ring when they next write.
    func wakeFollowers(_ slot: InstanceSlot) {
        guard let server = controlServer, let clients = server.followers[slot.id] else { return }
        for id in clients {
            guard let connection = server.connections[id] else { continue }
            connection.wake()
            server.dirty.insert(id)
        }
    }

    /// `control.mode` or `control.group` changed by a reload: applied to the live socket.
    /// (A new `control.socket` path takes effect at the next start.)
    func applyControlSettings(_ server: ControlServer) {
        let new = supervision.config.control
        let old = server.appliedControl
        server.appliedControl = new
        server.forgetMemberships()
        guard new.mode != old.mode || new.group != old.group else { return }
        do {
            let gid = try controlGroupID(new.group)
            try server.listener.apply(mode: new.mode, group: gid)
            server.groupID = gid
        } catch {
            emit(SupervisorEvent(.reload, nil, priority: 3, message: "control socket: could not apply the new control.mode/control.group: \(error)"))
        }
    }

    /// The loop is about to exit: close every client and remove the socket.
    func stopControl() {
        guard let server = controlServer else { return }
        let end = ControlProtocol.encodeEvent("end", [("reason", "bulkhead is shutting down")])
        for connection in server.connections.values where !connection.closed {
            if connection.isFollowing && connection.pendingBytes == 0 {
                _ = end.withUnsafeBytes { try? UnixStream.sendSome(connection.descriptor, $0) }
            }
            connection.close()
            unregister(connection.descriptor, token: connection.token)
            connection.descriptor.close()
        }
        server.connections = [:]
        unregister(server.listener.descriptor, token: server.listenerToken)
        server.listener.close()
        server.closeReserve()
        controlServer = nil
    }
}
