import CLinux
import Glibc

/// The breadcrumb ring bulkhead hands to one worker process: a fresh memfd per process, mapped
/// here read-only at once, its fd handed to the worker and then closed (`handedOver`): bulkhead
/// keeps the mapping, not an fd, so 10,000 instances cost no breadcrumb fds. The pages are
/// never touched here while the worker lives (untouched pages cost nothing); after its death
/// the complete entries are copied out of the mapping. A new process gets a new, zeroed file.
public final class BreadcrumbFile {
    /// The fd to hand to the worker, until `handedOver`.
    public private(set) var descriptor: FileDescriptor?
    public let size: Int
    private let mapping: UnsafeMutableRawPointer

    public init(name: String, capacity: Int) throws(SystemError) {
        size = Int(bh_crumb_region_size(UInt32(capacity)))
        // Sealed at its size: the worker holds this fd, and a truncated file would make the
        // pages we map SIGBUS for us. Left below fd 256: it lives only until the spawn.
        let fd = FileDescriptor(rawValue: try check("memfd_create", bh_memfd_sealed(name, size)))
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, fd.rawValue, 0), mapped != MAP_FAILED else {
            let error = SystemError(errno, "mmap breadcrumbs")
            fd.close()
            throw error
        }
        descriptor = fd
        mapping = mapped
    }

    /// A ring that already exists: the memfd a previous daemon (or this daemon's image before a
    /// re-exec) gave a worker, reopened through `/proc/PID/fd/3` while the worker holds it.
    /// Mapped like a new one; `descriptor` is closed here (the worker has its own).
    public init(adopting fd: FileDescriptor) throws(SystemError) {
        defer { fd.close() }
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else { throw SystemError(errno, "fstat of a breadcrumb ring") }
        guard (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0, st.st_size <= 16 << 20 else {
            throw SystemError(EINVAL, "not a breadcrumb ring")
        }
        size = Int(st.st_size)
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, fd.rawValue, 0), mapped != MAP_FAILED else {
            throw SystemError(errno, "mmap breadcrumbs")
        }
        descriptor = nil
        mapping = mapped
    }

    deinit {
        descriptor?.close()
        munmap(mapping, size)
    }

    /// The worker has its own copy of the fd (spawned, or the spawn failed): ours goes.
    public func handedOver() {
        descriptor?.close()
        descriptor = nil
    }

    public struct Entry: Sendable, Equatable {
        public var sequence: UInt64
        public var wallNanoseconds: Int64
        public var text: String
    }

    public struct Contents: Sendable, Equatable {
        public var entries: [Entry]
        /// CLOCK_MONOTONIC nanoseconds the worker stamped just before a deliberate exit, or 0.
        public var dyingStamp: UInt64
    }

    /// What the worker left. The worker is not trusted: bounds are checked in C.
    public func read(limit: Int) -> Contents {
        Self.decode(UnsafeRawBufferPointer(start: mapping, count: size), limit: limit)
    }

    /// The entries in `region`, whatever it holds (a worker may have scribbled anything there
    /// before it died); the fuzz target `breadcrumbs` feeds it arbitrary bytes.
    public static func decode(_ region: UnsafeRawBufferPointer, limit: Int) -> Contents {
        guard let mapped = region.baseAddress, limit > 0 else { return Contents(entries: [], dyingStamp: 0) }
        let size = region.count
        let buffer = UnsafeMutablePointer<bh_crumb_entry>.allocate(capacity: limit)
        defer { buffer.deallocate() }
        let n = Int(bh_crumb_read(mapped, size, buffer, Int32(clamping: limit)))
        var entries: [Entry] = []
        entries.reserveCapacity(n)
        for i in 0..<n {
            let length = Int(min(buffer[i].length, UInt32(BH_CRUMB_TEXT)))
            let text = withUnsafeBytes(of: buffer[i].text) { raw in
                String(decoding: raw.prefix(length), as: UTF8.self)
            }
            entries.append(Entry(sequence: buffer[i].claim, wallNanoseconds: buffer[i].realtime_ns, text: text))
        }
        // A region too small for a header has no stamp (found by the fuzz target `breadcrumbs`).
        guard size >= MemoryLayout<bh_crumb_header>.size else { return Contents(entries: entries, dyingStamp: 0) }
        let header = region.loadUnaligned(as: bh_crumb_header.self)
        return Contents(entries: entries, dyingStamp: header.magic == BH_CRUMB_MAGIC ? header.dying_ns : 0)
    }
}
