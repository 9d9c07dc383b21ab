import BulkheadPolicy
import BulkheadSystem

/// The control socket (issue 3): listener, clients, framing, deadlines, permissions.
/// Owned by the daemon; serviced from its loop.
final class ControlServer {
}
