import CLinux

/// The sending end of the sd_notify protocol: one datagram per message to `NOTIFY_SOCKET`
/// (`bh_notify_send`). Without an address every send is a no-op, as sd_notify(3) specifies.
public struct NotifySocket: Sendable, Hashable {
    /// A path or an abstract `@name`; nil when the worker is not supervised.
    public let address: String?

    public init(address: String?) {
        self.address = address
    }

    /// True when messages go somewhere.
    public var isEnabled: Bool { address != nil }

    /// Sends one datagram. Returns true when it was sent, false when there is no socket or the
    /// send failed (a supervisor that went away must not take the worker with it).
    @discardableResult
    public func send(_ message: NotifyMessage) -> Bool {
        guard let address else { return false }
        let bytes = message.encoded
        let result = bytes.withUnsafeBytes { raw in
            address.withCString { name in
                bh_notify_send(name, raw.baseAddress, raw.count)
            }
        }
        return result == 0
    }
}
