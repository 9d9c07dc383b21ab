import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// The control socket across a re-exec. The listener and its lock stay open: a client that
/// connects during the exec waits in the backlog and is served by the new image, a little late
/// but never refused. A client between requests goes across with the bytes of any request it
/// has begun, and one waiting for the re-exec's own answer is answered by the new image once it
/// serves. A follower (`logs -f`) is told its stream ends and why; a client whose reply is still
/// being written gets what it can take now, and is closed by the exec.
extension ControlServer {
    func handoff(_ blob: inout HandoffBlob, _ now: Instant) -> (section: JSON, keep: [FileDescriptor]) {
        var list: [JSON] = []
        var keep = [listener.descriptor, listener.lockDescriptor]
        let end = ControlProtocol.encodeEvent("end", [("reason", "bulkhead re-executes itself (reexec); run the command again to go on following")])
        for connection in connections.values.sorted(by: { $0.id < $1.id }) where !connection.isClosed {
            if connection.hasPendingOutput { flush(connection, now) }
            if !connection.following.isEmpty {
                if !connection.hasPendingOutput { _ = end.withUnsafeBytes { try? UnixStream.sendSome(connection.descriptor, $0) } }
                continue
            }
            let waiting = awaitingReexec.contains(connection.id)
            guard !connection.isClosed, !connection.hasPendingOutput, connection.awaitedReport == nil,
                  connection.session.state == .idle || waiting else { continue }
            keep.append(connection.descriptor)
            list.append(.object([
                ("fd", .int(Int64(connection.descriptor.rawValue))),
                ("input", blob.append(connection.session.unhandledBytes)),
                ("awaiting_reexec", .bool(waiting)),
            ]))
        }
        return (.object([
            ("listener", .int(Int64(listener.descriptor.rawValue))),
            ("lock", .int(Int64(listener.lockDescriptor.rawValue))),
            ("path", .string(listener.path)),
            ("started_at_ns", .int(Int64(clamping: startedAt.nanoseconds))),
            ("connections", .array(list)),
        ]), keep)
    }

    /// The listener of a handoff section, checked.
    static func inheritedListener(_ section: JSON?) throws(HandoffError) -> (listener: ControlListener, startedAt: Instant) {
        let fd = try HandoffError.descriptor(section?["listener"]?.int, "control listener")
        let lock = try HandoffError.descriptor(section?["lock"]?.int, "control socket lock")
        guard let path = section?["path"]?.string else { throw HandoffError("control: no socket path") }
        for connection in section?["connections"]?.array ?? [] {
            _ = try HandoffError.descriptor(connection["fd"]?.int, "control connection")
        }
        let started = Instant(nanoseconds: UInt64(max(0, section?["started_at_ns"]?.int ?? 0)))
        return (ControlListener(inheriting: fd, lock: lock, path: path), started)
    }

    /// The connections of a handoff section, served again from this turn on.
    func restoreConnections(_ section: JSON?, _ blob: HandoffBlob, _ now: Instant) {
        for item in section?["connections"]?.array ?? [] {
            guard let number = item["fd"]?.int, let raw = Int32(exactly: number) else { continue }
            let fd = FileDescriptor(rawValue: raw)
            guard let peer = try? UnixStream.peerCredentials(fd) else {
                fd.close()
                continue
            }
            let waiting = item["awaiting_reexec"]?.bool ?? false
            let connection = ControlConnection(id: nextID, descriptor: fd, peer: peer, ledger: ledger, now: now)
            nextID += 1
            connection.session = ControlSession(resuming: blob.slice(item["input"]) ?? [], awaitingReply: waiting, now: now)
            do {
                connection.token = try loop.register(fd, .readable, .controlClient(connection.id))
            } catch {
                fd.close()
                continue
            }
            connection.interest = .readable
            connections[connection.id] = connection
            if waiting { awaitingReexec.insert(connection.id) }
            if connection.session.hasCompleteRequest { needsService.insert(connection.id) }
            note(connection.session.deadline(hasPendingOutput: false))
        }
    }
}
