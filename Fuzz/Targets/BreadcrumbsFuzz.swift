import BulkheadSystem

/// The breadcrumb ring after a death: the worker may have written anything into that memory.
/// The input is the ring's memory (page-aligned in the daemon; 8-aligned here).
enum BreadcrumbsFuzz {
    @Sendable static func run(_ bytes: UnsafeRawBufferPointer) {
        let region = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        defer { region.deallocate() }
        region.copyMemory(from: bytes)
        let contents = BreadcrumbFile.decode(UnsafeRawBufferPointer(region), limit: 64)
        precondition(contents.entries.count <= 64)
    }
}
