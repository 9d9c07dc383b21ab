import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// The notify socket across a re-exec: kept open and bound (a worker's next datagram waits in
/// it while the new image starts; every worker's environment names it), with the sockets bound
/// for adopted workers' former names and what was counted.
extension NotifyReceiver {
    func handoff() -> (section: JSON, keep: [FileDescriptor]) {
        let formers: [JSON] = formerSockets.map { former in
            .object([("fd", .int(Int64(former.socket.descriptor.rawValue))), ("name", .string(former.socket.name))])
        }
        let counts: [JSON] = rejected.sorted { $0.key < $1.key }.map { id, count in
            .object([("instance", .string(id.description)), ("count", .int(Int64(count)))])
        }
        let section = JSON.object([
            ("socket", .object([("fd", .int(Int64(socket.descriptor.rawValue))), ("name", .string(socket.name))])),
            ("former", .array(formers)),
            ("rejected", .array(counts)),
            ("rejected_total", .int(Int64(rejectedTotal))),
            ("rejected_strangers", .int(Int64(strangerRejections))),
        ])
        return (section, [socket.descriptor] + formerSockets.map(\.socket.descriptor))
    }

    static func validate(_ section: JSON?) throws(HandoffError) {
        guard let main = section?["socket"] else { throw HandoffError("notify: no socket") }
        for socket in [main] + (section?["former"]?.array ?? []) {
            guard socket["name"]?.string != nil else { throw HandoffError("notify: a socket without its name") }
            _ = try HandoffError.descriptor(socket["fd"]?.int, "notify socket \(socket["name"]?.string ?? "")")
        }
    }

    /// The main socket of a validated section (for `init(loop:daemonPID:inherited:)`).
    static func inheritedSocket(_ section: JSON?) -> NotifySocket? {
        guard let main = section?["socket"], let name = main["name"]?.string,
              let number = main["fd"]?.int, let fd = Int32(exactly: number) else { return nil }
        return NotifySocket(inherited: FileDescriptor(rawValue: fd), name: name)
    }

    /// The rest of a validated section: former sockets and counts.
    func restore(_ section: JSON?) {
        for former in section?["former"]?.array ?? [] {
            guard let name = former["name"]?.string, let number = former["fd"]?.int, let fd = Int32(exactly: number) else { continue }
            take(formerSocket: NotifySocket(inherited: FileDescriptor(rawValue: fd), name: name))
        }
        var counts: [InstanceID: Int] = [:]
        for item in section?["rejected"]?.array ?? [] {
            guard let name = item["instance"]?.string, let id = InstanceID(parsing: name), let count = item["count"]?.int, count > 0 else { continue }
            counts[id] = Int(count)
        }
        restoreCounts(rejected: counts, total: Int(max(0, section?["rejected_total"]?.int ?? 0)),
                      strangers: Int(max(0, section?["rejected_strangers"]?.int ?? 0)))
    }
}
