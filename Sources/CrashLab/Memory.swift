import Glibc

/// `--allocate` / `--allocate-forever`: memory that is really resident, for memory-limit and
/// OOM tests. Allocation goes through Swift's allocator, so a failure ends the process the way
/// it would end a real Swift worker.
enum Memory {
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    static func allocate(_ bytes: Int) {
        touch(UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: pageSize), bytes)
        Output.report("allocated \(bytes) bytes")
    }

    /// Never returns: allocates and touches `step` bytes after `step` until something ends the
    /// process (the OOM killer, a cgroup limit, RLIMIT_AS).
    static func allocateForever(step: Int) -> Never {
        while true {
            touch(UnsafeMutableRawPointer.allocate(byteCount: step, alignment: pageSize), step)
        }
    }

    /// Writes one byte per page: untouched pages would not count against any limit.
    private static func touch(_ region: UnsafeMutableRawPointer, _ bytes: Int) {
        for offset in stride(from: 0, to: bytes, by: pageSize) {
            region.storeBytes(of: 0xA5, toByteOffset: offset, as: UInt8.self)
        }
        // Never freed, and passed out of sight so the stores cannot be dropped as dead.
        Opaque.consume(region)
    }
}
