import BulkheadSystem
import Glibc

/// The name of the daemon's cgroup directory (which holds the instances' groups), tied to its
/// state directory instead of its pid, so that the next daemon on the same state directory
/// (after a crash, or a restart) finds the processes this one left. One daemon per state
/// directory (the lock) makes it unique. (Notify sockets keep their pid-based names: an adopted
/// worker's name is recorded in the state file and bound again, `NotifyReceiver.bind`.)
struct DaemonScope: Equatable {
    /// 12 hex digits of a hash of the state directory's real path.
    let key: String

    init(stateDirectory: String) {
        var resolved = stateDirectory
        if let real = realpath(stateDirectory, nil) {
            resolved = String(cString: real)
            free(real)
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in resolved.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        key = String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(12))
    }

    /// The cgroup directory of this daemon's instance groups: `bulkhead.<key>` (the dot keeps
    /// it apart from the `bulkhead-<pid>` directories older versions made).
    var cgroupName: String { "bulkhead.\(key)" }
}
