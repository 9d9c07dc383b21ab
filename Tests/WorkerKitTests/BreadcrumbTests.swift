import CLinux
import Glibc
import Testing

@testable import WorkerKit

@Suite("Breadcrumb encoding and ring")
struct BreadcrumbTests {
    @Test func messageOnly() {
        #expect(BreadcrumbEncoding.encode("order 42: charging card") == "order 42: charging card")
    }

    @Test func fieldsSortedByKey() {
        #expect(BreadcrumbEncoding.encode("charge", ["trace_id": "abc", "order": "42"]) == "charge order=42 trace_id=abc")
    }

    @Test func stableForEqualInput() {
        let fields = ["z": "1", "a": "2", "m": "3", "b": "4", "k": "5"]
        let first = BreadcrumbEncoding.encode("m", fields)
        for _ in 0..<20 {
            #expect(BreadcrumbEncoding.encode("m", Dictionary(uniqueKeysWithValues: fields.shuffled().map { ($0.key, $0.value) })) == first)
        }
        #expect(first == "m a=2 b=4 k=5 m=3 z=1")
    }

    @Test func quotingAndEscapes() {
        #expect(BreadcrumbEncoding.encode("step", ["note": "two words", "empty": "", "q": "a\"b"]) == #"step empty="" note="two words" q="a\"b""#)
        #expect(BreadcrumbEncoding.encode("line1\nline2") == "line1\\nline2")
        #expect(BreadcrumbEncoding.encode("k", ["bad key!": "v"]) == "k bad_key_=v")
    }

    @Test func cutAt232BytesOnAUTF8Boundary() {
        let long = String(repeating: "ä", count: 200)   // 400 bytes
        let encoded = BreadcrumbEncoding.encode(long)
        #expect(encoded.utf8.count <= BreadcrumbEncoding.capacity)
        #expect(encoded.hasSuffix("…"))
        #expect(encoded.dropLast().allSatisfy { $0 == "ä" })
        // Valid UTF-8 all the way: decoding and re-encoding gives the same bytes.
        #expect(String(decoding: Array(encoded.utf8), as: UTF8.self) == encoded)
    }

    @Test func exactFitIsNotCut() {
        let exact = String(repeating: "a", count: BreadcrumbEncoding.capacity)
        #expect(BreadcrumbEncoding.encode(exact) == exact)
        #expect(BreadcrumbEncoding.encode(exact + "b") == String(repeating: "a", count: BreadcrumbEncoding.capacity - 3) + "…")
    }

    @Test func ringKeepsNewestOldestFirst() {
        let ring = BreadcrumbRing(capacity: 8)
        for index in 1...20 {
            ring.record("step", ["n": String(index)])
        }
        let entries = ring.entries(limit: 5)
        #expect(entries.map(\.text) == (16...20).map { "step n=\($0)" })
        #expect(entries.map(\.sequence) == Array(15...19))
        #expect(ring.entries(limit: 100).count == 8)
        #expect(!ring.isShared)
        #expect(entries.allSatisfy { $0.realtimeNanoseconds > 1_600_000_000_000_000_000 })
    }

    @Test func concurrentWritersNeverTearEntries() async {
        let ring = BreadcrumbRing(capacity: 64)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<500 {
                        ring.record("w", ["writer": String(writer), "i": String(index)])
                    }
                }
            }
        }
        let entries = ring.entries(limit: 64)
        #expect(entries.count == 64)
        for entry in entries {
            let parts = entry.text.split(separator: " ")
            #expect(parts.count == 3 && parts[0] == "w" && parts[1].hasPrefix("i=") && parts[2].hasPrefix("writer="))
        }
        #expect(entries.last?.sequence == 3999)
    }

    @Test func contextWritesToItsRing() {
        let ring = BreadcrumbRing(capacity: 4)
        let context = WorkerContext(environment: .init(variables: [:], programName: "t", processID: 1), breadcrumbs: ring)
        context.breadcrumb("charge", ["order": "42", "trace_id": "abc"])
        #expect(context.recentBreadcrumbs().map(\.text) == ["charge order=42 trace_id=abc"])
    }

    @Test func globalEntryPointUsesTheSharedRing() {
        let marker = "global-\(UInt64.random(in: 0...UInt64.max))"
        Breadcrumbs.record(marker, ["k": "v"])
        #expect(Breadcrumbs.recent(limit: 256).contains { $0.text == "\(marker) k=v" })
    }

    @Test func sharedRingOverMemfd() throws {
        let capacity: UInt32 = 16
        let size = bh_crumb_region_size(capacity)
        let fd = bh_memfd("crumbs-test", size)
        try #require(fd >= 0)
        defer { close(fd) }
        let region = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))
        defer { munmap(region, size) }
        bh_crumb_init(region, capacity)

        let ring = try #require(BreadcrumbRing(sharedFileDescriptor: fd))
        #expect(ring.isShared)
        #expect(ring.capacity == 16)
        ring.record("order 7", ["step": "charge"])
        ring.markDying()

        // Read through the other mapping, as bulkhead would.
        var entries = [bh_crumb_entry](repeating: bh_crumb_entry(), count: 16)
        let count = bh_crumb_read(region, size, &entries, 16)
        #expect(count == 1)
        #expect(Breadcrumb(entries[0]).text == "order 7 step=charge")
        let header = region.load(as: bh_crumb_header.self)
        #expect(header.dying_ns > 0)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func aBlankRegionIsFormattedByTheFirstWrite() throws {
        // bulkhead passes a zero-filled memfd and never touches it.
        let size = bh_crumb_region_size(8)
        let fd = bh_memfd("blank-crumbs", size)
        try #require(fd >= 0)
        defer { close(fd) }
        let ring = try #require(BreadcrumbRing(sharedFileDescriptor: fd))
        ring.record("first")
        #expect(ring.capacity == 8)
        #expect(ring.entries(limit: 8).map(\.text) == ["first"])
    }

    @Test func notARingIsRefused() throws {
        let fd = bh_memfd("not-crumbs", 4096)
        try #require(fd >= 0)
        defer { close(fd) }
        let garbage = [UInt8](repeating: 0x5a, count: 4096)
        try #require(garbage.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 0) } == 4096)
        #expect(BreadcrumbRing(sharedFileDescriptor: fd) == nil)
        #expect(BreadcrumbRing(sharedFileDescriptor: 987_654) == nil)
    }
}
