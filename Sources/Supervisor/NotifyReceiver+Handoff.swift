import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// The notify sockets across a re-exec: kept open and bound (a worker's next datagram waits in
/// the socket while the new image starts), with what was counted for each.
extension NotifyReceiver {
    func handoff() -> (section: JSON, keep: [FileDescriptor]) {
        let sockets = endpointDescriptors.sorted { $0.key < $1.key }
        let list: [JSON] = sockets.map { id, socket in
            .object([("instance", .string(id.description)), ("fd", .int(Int64(socket.descriptor.rawValue))),
                     ("name", .string(socket.name)), ("rejected", .int(Int64(rejected[id] ?? 0)))])
        }
        return (.object([("sockets", .array(list)), ("rejected_total", .int(Int64(rejectedTotal)))]), sockets.map(\.value.descriptor))
    }

    static func validate(_ section: JSON?) throws(HandoffError) {
        for socket in section?["sockets"]?.array ?? [] {
            guard let name = socket["instance"]?.string, InstanceID(parsing: name) != nil, socket["name"]?.string != nil else {
                throw HandoffError("notify: a socket without its instance or name")
            }
            _ = try HandoffError.descriptor(socket["fd"]?.int, "notify socket of \(name)")
        }
    }

    func restore(_ section: JSON?) {
        for socket in section?["sockets"]?.array ?? [] {
            guard let name = socket["instance"]?.string, let id = InstanceID(parsing: name), let bound = socket["name"]?.string,
                  let number = socket["fd"]?.int, let fd = Int32(exactly: number) else { continue }
            adopt(id, NotifySocket(inherited: FileDescriptor(rawValue: fd), name: bound), rejected: Int(max(0, socket["rejected"]?.int ?? 0)))
        }
        restoreRejectedTotal(Int(max(0, section?["rejected_total"]?.int ?? 0)))
    }
}
