import CLinux
import Glibc

/// The ring breadcrumbs are written into (`bh_crumb_*` in CLinux.h).
///
/// Under bulkhead it is the memfd passed in `BULKHEAD_BREADCRUMBS_FD`, mapped `MAP_SHARED`, so
/// the entries stay readable by bulkhead after the worker dies, even by a trap. Standalone it is
/// an in-process region with the same layout, so the API behaves the same and tests can read it.
///
/// Writing is lock-free and safe from any thread or task; it makes no system call except the
/// vDSO `clock_gettime` for the timestamp.
public final class BreadcrumbRing: @unchecked Sendable {
    // @unchecked: the region is only touched through bh_crumb_*, which are atomic per slot; the
    // stored properties never change after init.
    private let region: UnsafeMutableRawPointer
    private let size: Int
    private let ownership: Ownership

    private enum Ownership {
        case heap
        case mapping
    }

    /// True when the ring is shared with bulkhead (it outlives this process).
    public var isShared: Bool { ownership == .mapping }

    /// Entries the ring holds before the oldest is overwritten.
    public var capacity: Int { Int(region.load(fromByteOffset: Self.capacityOffset, as: UInt32.self)) }

    /// The ring of this process: the shared one named by `BULKHEAD_BREADCRUMBS_FD` when it can
    /// be mapped, else an in-process ring of 256 entries.
    public static let shared: BreadcrumbRing = {
        if let fd = WorkerEnvironment.current().breadcrumbsFileDescriptor,
            let ring = BreadcrumbRing(sharedFileDescriptor: fd)
        {
            return ring
        }
        return BreadcrumbRing(capacity: 256)
    }()

    /// An in-process ring.
    public init(capacity: Int) {
        precondition(capacity > 0 && capacity <= Int(UInt32.max), "a breadcrumb ring needs at least one slot")
        size = bh_crumb_region_size(UInt32(capacity))
        region = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        bh_crumb_init(region, UInt32(capacity))
        ownership = .heap
    }

    /// Maps the ring bulkhead passes (its memfd, zero-filled or already a ring): `MAP_SHARED`
    /// over the fd's `fstat` size. Returns nil when the fd cannot be mapped or holds something
    /// else. The fd is
    /// marked close-on-exec (programs this worker runs must not inherit it) and kept open, so
    /// its number is not reused while the environment variable still names it.
    public init?(sharedFileDescriptor fd: Int32) {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
            info.st_size >= MemoryLayout<bh_crumb_header>.size
        else { return nil }
        let length = Int(info.st_size)
        guard let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
            mapped != UnsafeMutableRawPointer(bitPattern: -1)
        else { return nil }
        // bulkhead passes a zero-filled memfd and never touches its pages (they would count in
        // its own memory): the first `bh_crumb_write` formats it. Anything else must already
        // be a ring that fits.
        let magic = mapped.load(as: UInt32.self)
        let slots = mapped.load(fromByteOffset: Self.capacityOffset, as: UInt32.self)
        let blank = magic == 0 && slots == 0
        guard blank || (magic == BH_CRUMB_MAGIC && slots > 0 && bh_crumb_region_size(slots) <= length) else {
            munmap(mapped, length)
            return nil
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        region = mapped
        size = length
        ownership = .mapping
    }

    deinit {
        switch ownership {
        case .heap: region.deallocate()
        case .mapping: munmap(region, size)
        }
    }

    /// Appends one entry, encoded as ``BreadcrumbEncoding`` describes.
    public func record(_ message: String, _ fields: [String: String] = [:]) {
        BreadcrumbEncoding.withEncoded(message, fields) { bytes in
            write(encoded: bytes)
        }
    }

    /// Appends already-encoded text (cut at `BH_CRUMB_TEXT` bytes by the ring).
    public func write(encoded bytes: UnsafeRawBufferPointer) {
        let text = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        _ = bh_crumb_write(region, size, bh_realtime_ns(), text, bytes.count)
    }

    /// The newest complete entries, oldest first (at most `limit`).
    public func entries(limit: Int = 32) -> [Breadcrumb] {
        let wanted = max(0, min(limit, capacity))
        guard wanted > 0 else { return [] }
        // bh_crumb_read copies oldest first from the whole ring; read all, keep the tail.
        let slots = capacity
        let buffer = UnsafeMutablePointer<bh_crumb_entry>.allocate(capacity: slots)
        defer { buffer.deallocate() }
        let stored = Int(bh_crumb_read(region, size, buffer, Int32(clamping: slots)))
        return (max(0, stored - wanted)..<stored).map { Breadcrumb(buffer[$0]) }
    }

    /// Stamps the header's dying time (`bh_crumb_mark_dying`): the worker is about to exit on
    /// purpose, so bulkhead can tell a deliberate exit from a sudden death.
    public func markDying() {
        bh_crumb_mark_dying(region, bh_monotonic_ns())
    }

    private static let capacityOffset = MemoryLayout<bh_crumb_header>.offset(of: \.capacity)!
}

/// One entry read back from a ring.
public struct Breadcrumb: Sendable, Hashable, CustomStringConvertible {
    /// The entry's claim number: how many entries were written before it.
    public var sequence: UInt64
    /// `CLOCK_REALTIME` when it was written, in nanoseconds since the epoch.
    public var realtimeNanoseconds: Int64
    /// The encoded text (see ``BreadcrumbEncoding``).
    public var text: String

    public init(sequence: UInt64, realtimeNanoseconds: Int64, text: String) {
        self.sequence = sequence
        self.realtimeNanoseconds = realtimeNanoseconds
        self.text = text
    }

    init(_ entry: bh_crumb_entry) {
        var entry = entry
        let length = min(Int(entry.length), BreadcrumbEncoding.capacity)
        let text = withUnsafeBytes(of: &entry.text) { raw in
            String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<length]), as: UTF8.self)
        }
        self.init(sequence: entry.claim, realtimeNanoseconds: entry.realtime_ns, text: text)
    }

    public var description: String { text }
}
