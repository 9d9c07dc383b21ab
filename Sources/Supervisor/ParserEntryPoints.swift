import BulkheadControl

/// The daemon's parsers of hostile bytes, open to the fuzz targets (Fuzz/Targets, same package)
/// and nothing else: each reads its input exactly as the daemon does.
package enum ParserEntryPoints {
    /// A control request's command and arguments (`ControlCommand.parse`); true when accepted.
    package static func controlCommand(_ request: ControlRequest) -> Bool {
        if case .success = ControlCommand.parse(request) { return true }
        return false
    }

    /// One sd_notify datagram (`NotifyMessage.parse`): how many notifications it carried.
    package static func notifyMessage(_ bytes: ArraySlice<UInt8>) -> Int {
        NotifyMessage.parse(bytes).notifications.count
    }

    package static var notifyDatagramLimit: Int { NotifyMessage.maxDatagram }
}
