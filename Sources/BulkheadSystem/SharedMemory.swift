import CLinux
import Glibc

/// The breadcrumb ring bulkhead hands to a worker: a memfd it passes as an fd and never maps
/// while the worker lives (untouched pages cost nothing). After the death it maps the file
/// read-only, copies the complete entries out, and zeroes it for the next incarnation.
public final class BreadcrumbFile {
    public let descriptor: FileDescriptor
    public let size: Int
    private var released = false

    public init(name: String, capacity: Int) throws(SystemError) {
        size = Int(bh_crumb_region_size(UInt32(capacity)))
        // Sealed at its size: the worker holds this fd, and a truncated file would make the
        // pages we map after its death SIGBUS for us.
        descriptor = FileDescriptor(rawValue: try check("memfd_create", bh_memfd_sealed(name, size))).movedHigh()
    }

    /// A ring that already exists: the memfd a previous daemon gave a worker, reopened through
    /// `/proc/PID/fd/3` when the worker is adopted, or the fd a re-exec handed over.
    public init(adopting descriptor: FileDescriptor) throws(SystemError) {
        var st = stat()
        guard fstat(descriptor.rawValue, &st) == 0 else { throw SystemError(errno, "fstat of a breadcrumb ring") }
        guard (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0, st.st_size <= 16 << 20 else {
            throw SystemError(EINVAL, "not a breadcrumb ring")
        }
        self.descriptor = descriptor
        size = Int(st.st_size)
    }

    deinit {
        if !released { descriptor.close() }
    }

    /// Lets the fd outlive this object (a re-exec hands it to the new daemon image).
    public func release() -> FileDescriptor {
        released = true
        return descriptor
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
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor.rawValue, 0), mapped != MAP_FAILED else {
            return Contents(entries: [], dyingStamp: 0)
        }
        defer { munmap(mapped, size) }
        let buffer = UnsafeMutablePointer<bh_crumb_entry>.allocate(capacity: limit)
        defer { buffer.deallocate() }
        let n = Int(bh_crumb_read(mapped, size, buffer, Int32(limit)))
        var entries: [Entry] = []
        entries.reserveCapacity(n)
        for i in 0..<n {
            let length = Int(min(buffer[i].length, UInt32(BH_CRUMB_TEXT)))
            let text = withUnsafeBytes(of: buffer[i].text) { raw in
                String(decoding: raw.prefix(length), as: UTF8.self)
            }
            entries.append(Entry(sequence: buffer[i].claim, wallNanoseconds: buffer[i].realtime_ns, text: text))
        }
        let header = mapped.assumingMemoryBound(to: bh_crumb_header.self).pointee
        return Contents(entries: entries, dyingStamp: header.magic == BH_CRUMB_MAGIC ? header.dying_ns : 0)
    }

    /// Zero-fills the file (its pages punched out, the size sealed): the next incarnation starts blank.
    public func reset() {
        _ = bh_memfd_clear(descriptor.rawValue, size)
    }
}
