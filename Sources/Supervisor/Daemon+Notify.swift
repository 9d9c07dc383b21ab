import BulkheadPolicy
import BulkheadSystem

/// The sd_notify protocol, per instance. A datagram counts only when it comes from the
/// instance's main process or a process in its process group (SPEC §4: `systemd-notify` run by
/// a shell worker, or deeper: a script the worker runs); another instance's process or a
/// stranger is dropped and counted. No process outside the instance's session can join that
/// group (setpgid stays within a session), and each instance has a session of its own.
extension Daemon {
    static let datagramsPerTurn = 64

    func receiveNotifications(_ id: InstanceID) {
        guard let slot = slots[id], let socket = slot.notify else { return }
        for _ in 0..<Self.datagramsPerTurn {
            let datagram: NotifySocket.Datagram?
            do { datagram = try socket.receive(into: &notifyBuffer) } catch { return }
            guard let datagram else { return }
            // Any fd that came along (a BARRIER=1 fd) is closed only after the check: the
            // sender is still alive while it waits on it, so /proc still knows it.
            defer { for fd in datagram.descriptors { fd.close() } }
            guard !datagram.truncated, let sender = datagram.senderPID, let pid = slot.pid,
                  isFromInstance(sender: sender, mainPID: pid) else {
                reject(slot, datagram)
                continue
            }
            slot.acceptedNotifications += 1
            let parsed = NotifyMessage.parse(datagram.bytes)
            for notification in parsed.notifications {
                perform(supervision.notified(id, notification, MonotonicClock.now()))
            }
        }
    }

    func isFromInstance(sender: Int32, mainPID: Int32) -> Bool {
        if sender == mainPID { return true }
        guard let stat = ProcFS.stat(sender) else { return false }
        return stat.processGroup == mainPID
    }

    func reject(_ slot: InstanceSlot, _ datagram: NotifySocket.Datagram) {
        slot.rejectedNotifications += 1
        counters.notifyRejected += 1
        // The first of a burst is worth a line; the rest are counted (status shows the count).
        if slot.rejectedNotifications == 1 || slot.rejectedNotifications % 1000 == 0 {
            let who = datagram.senderPID.map { "pid \($0)" } ?? "an unknown sender"
            let why = datagram.truncated ? "oversized datagram" : "not a process of this instance"
            emit(SupervisorEvent(
                .notifyRejected, slot.id, priority: 4,
                message: "notify message from \(who) dropped (\(why)); \(slot.rejectedNotifications) dropped so far"
            ))
        }
    }
}
