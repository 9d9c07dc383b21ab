import CLinux
import Foundation

/// CPU time the hypervisor gave to other guests (/proc/stat `steal`): on a shared VM the
/// figures of two runs compare only when this was alike.
enum HostSteal {
    /// All CPUs' steal so far, in clock ticks, and when it was read.
    static func ticks() -> (steal: UInt64, at: UInt64) {
        let text = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? ""
        let fields = text.prefix { $0 != "\n" }.split(separator: " ")
        // cpu user nice system idle iowait irq softirq steal …
        let steal = fields.count > 8 ? UInt64(fields[8]) ?? 0 : 0
        return (steal, bh_monotonic_ns())
    }

    static func describe(since before: (steal: UInt64, at: UInt64)) -> String {
        let now = ticks()
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let cpus = Double(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let seconds = Double(now.at - before.at) / 1e9
        guard seconds > 0, hz > 0, cpus > 0 else { return "steal unknown" }
        let share = Double(now.steal - before.steal) / hz / (seconds * cpus) * 100
        return String(format: "%.1f %% of the CPUs stolen by the host", share)
    }
}
