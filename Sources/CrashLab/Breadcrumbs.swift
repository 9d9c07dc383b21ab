import CLinux
import Glibc

/// The breadcrumb ring bulkhead passes in `$BULKHEAD_BREADCRUMBS_FD`: a memfd mapped
/// MAP_SHARED, so what is written survives a trap (bulkhead reads it after the death).
struct BreadcrumbRing: @unchecked Sendable {
    // @unchecked: the region is shared memory written only through bh_crumb_*, which are atomic.
    let base: UnsafeMutableRawPointer
    let size: Int

    /// Maps the ring; nil without the variable. A variable that is set but unusable is reported
    /// on stderr (a test setup bug) and otherwise ignored.
    static func mapFromEnvironment() -> BreadcrumbRing? {
        guard let raw = getenv("BULKHEAD_BREADCRUMBS_FD") else { return nil }
        let text = String(cString: raw)
        guard let fd = Int32(text), fd >= 0 else {
            Output.note("BULKHEAD_BREADCRUMBS_FD=\(text) is not an fd; no breadcrumbs")
            return nil
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else {
            Output.note("BULKHEAD_BREADCRUMBS_FD=\(fd): fstat failed or empty (errno \(errno)); no breadcrumbs")
            return nil
        }
        let size = Int(info.st_size)
        let region = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let region, region != MAP_FAILED else {
            Output.note("BULKHEAD_BREADCRUMBS_FD=\(fd): mmap failed (errno \(errno)); no breadcrumbs")
            return nil
        }
        // The mapping is all we need from now on: keep the fd from leaking into the grandchild.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return BreadcrumbRing(base: region, size: size)
    }

    func write(_ text: String) {
        var text = text
        let result = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                bh_crumb_write(base, size, bh_realtime_ns(), $0.baseAddress, $0.count)
            }
        }
        if result != 0 { Output.note("BULKHEAD_BREADCRUMBS_FD does not hold a breadcrumb ring") }
    }

    func markDying() {
        bh_crumb_mark_dying(base, bh_monotonic_ns())
    }
}

/// The ring's "dying" stamp, set just before every deliberate exit, raise or trap, so a
/// benchmark can measure death → noticed. A global because the dying code runs on many
/// threads and tasks, far from where the ring was mapped.
enum DyingStamp {
    // Written once in Lab.run before any other thread starts; only read afterwards.
    nonisolated(unsafe) static var ring: BreadcrumbRing?
    /// `--print-dying-time`: the moment also goes to stdout as `crashlab: dying at NS` (wall
    /// clock, CLOCK_REALTIME ns), for a benchmark comparing it with a report file's mtime.
    nonisolated(unsafe) static var printsWallTime = false

    static func now() {
        ring?.markDying()
        if printsWallTime {
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            Output.report("dying at \(Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))")
        }
    }
}
