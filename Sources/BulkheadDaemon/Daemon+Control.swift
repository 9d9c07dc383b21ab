import BulkheadPolicy
import BulkheadSystem

/// Hooks the loop calls for the control socket (filled in by the control-socket work).
extension Daemon {
    /// Binds the control socket and registers it with `.control`.
    func startControl() throws(SystemError) {}
    /// The listener is readable.
    func acceptControl() {}
    /// A client connection is readable/writable/hung up.
    func serviceControlClient(_ client: Int, _ event: Epoll.Event) {}
    /// The earliest client deadline (slow or idle clients), so the loop wakes for it.
    func controlDeadline() -> Instant? { nil }
    /// Deadlines passed: drop clients that are too slow.
    func controlTick(_ now: Instant) {}
    /// A worker line was appended (called only when `slot.followers > 0`).
    func controlLine(_ slot: InstanceSlot, _ stream: OutputStream, _ line: UnsafeRawBufferPointer) {}
    /// The loop is about to exit: close every client and remove the socket.
    func stopControl() {}
}
