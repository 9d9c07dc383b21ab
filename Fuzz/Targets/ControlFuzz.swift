import BulkheadControl
import Supervisor

/// The control protocol, both ends: each line as a request the daemon reads (envelope, then the
/// command and its arguments), and as a reply or event the CLI reads.
enum ControlFuzz {
    @Sendable static func run(_ bytes: UnsafeRawBufferPointer) {
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let buffer = UnsafeRawBufferPointer(rebasing: line)
            if case .success(let request) = ControlRequest.parse(buffer) {
                _ = ParserEntryPoints.controlCommand(request)
            }
            _ = ControlMessage.parse(buffer)
        }
    }
}
