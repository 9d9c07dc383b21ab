import Foundation

/// Death → replacement exec'd, from the kernel's own timestamps (the proc connector): for a
/// worker that dies at once, the gap from one child's exit to the next child's exec. Every
/// restart-latency figure is taken this way, outside the daemon.
enum RestartGaps {
    /// Gaps in microseconds until `count` are collected (or 120 s pass). `skipExecs`: execs of
    /// other instances to leave out first (idle instances starting). `sampled` is called with
    /// the number of gaps after each one.
    static func measure(_ events: ProcEvents, daemonPID: Int32, count: Int, skipExecs: Int = 0,
                        sampled: (Int) -> Void = { _ in }) -> [Double] {
        var children = Set<Int32>()
        var skipLeft = skipExecs
        var lastExit: UInt64?
        var values: [Double] = []
        let deadline = Date().addingTimeInterval(120)
        while values.count < count && Date() < deadline {
            for e in events.read(timeoutMilliseconds: 100) {
                if e.kind == 1 && e.parent == daemonPID {
                    children.insert(e.pid)
                } else if e.kind == 2 && children.contains(e.pid) {
                    if skipLeft > 0 {
                        skipLeft -= 1
                        continue
                    }
                    if let exit = lastExit {
                        values.append(Double(e.timestamp_ns &- exit) / 1e3)
                        sampled(values.count)
                    }
                    lastExit = nil
                } else if e.kind == 3 && children.contains(e.pid) {
                    children.remove(e.pid)
                    lastExit = e.timestamp_ns
                }
            }
        }
        return values
    }
}
