import BulkheadPolicy
import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `BreadcrumbFile` and `bh_crumb_*`: the worker writes into the memfd bulkhead handed it, and
/// bulkhead reads it after the death. Here the test plays the worker: it maps the memfd
/// `MAP_SHARED` and calls `bh_crumb_write`, as WorkerKit does.
@Suite struct BreadcrumbFileTests {
    /// The worker's side of the memfd.
    final class WorkerMapping {
        let region: UnsafeMutableRawPointer
        let size: Int

        init(_ file: BreadcrumbFile) throws {
            guard let fd = file.descriptor,
                  let mapped = mmap(nil, file.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0),
                  mapped != MAP_FAILED else { throw TestFailure("mmap: \(SystemError.describe(errno))") }
            region = mapped
            size = file.size
        }

        deinit { munmap(region, size) }

        @discardableResult
        func write(_ text: String, wall: Int64 = 1_700_000_000_000_000_000) -> Int32 {
            var text = text
            return text.withUTF8 { bh_crumb_write(region, size, wall, $0.baseAddress, $0.count) }
        }

        var header: UnsafeMutablePointer<bh_crumb_header> { region.assumingMemoryBound(to: bh_crumb_header.self) }

        func slot(_ index: Int) -> UnsafeMutablePointer<bh_crumb_slot> {
            (region + MemoryLayout<bh_crumb_header>.size).assumingMemoryBound(to: bh_crumb_slot.self) + index
        }
    }

    static func file(capacity: Int = 16) throws -> BreadcrumbFile {
        try BreadcrumbFile(name: "bulkhead-systests-crumbs", capacity: capacity)
    }

    @Test func aFreshFileReadsEmpty() throws {
        let file = try Self.file()
        #expect(file.size == Int(bh_crumb_region_size(16)))
        #expect(file.descriptor != nil)
        #expect(file.read(limit: 64).entries.isEmpty && file.read(limit: 64).dyingStamp == 0)
    }

    @Test func entriesComeBackInOrderWithTheirTimes() throws {
        let file = try Self.file()
        let worker = try WorkerMapping(file)
        for i in 0..<5 { #expect(worker.write("step \(i)", wall: 1000 + Int64(i)) == 0) }
        // The first write formatted the zero-filled region with as many slots as fit.
        #expect(worker.header.pointee.magic == BH_CRUMB_MAGIC)
        #expect(worker.header.pointee.capacity == 16)
        let contents = file.read(limit: 64)
        #expect(contents.entries.map(\.text) == (0..<5).map { "step \($0)" })
        #expect(contents.entries.map(\.sequence) == [0, 1, 2, 3, 4])
        #expect(contents.entries.map(\.wallNanoseconds) == [1000, 1001, 1002, 1003, 1004])
        #expect(contents.dyingStamp == 0)
    }

    @Test func wrappingPastCapacityKeepsTheNewest() throws {
        let file = try Self.file(capacity: 16)
        let worker = try WorkerMapping(file)
        for i in 0..<(16 * 3 + 5) { worker.write("crumb \(i)") }
        let entries = file.read(limit: 64).entries
        #expect(entries.count == 16)
        #expect(entries.map(\.text) == (37..<53).map { "crumb \($0)" })
        #expect(entries.map(\.sequence) == (37..<53).map { UInt64($0) })
    }

    @Test func aLimitBelowTheCapacityKeepsTheNewest() throws {
        let file = try Self.file(capacity: 16)
        let worker = try WorkerMapping(file)
        for i in 0..<20 { worker.write("crumb \(i)") }
        // The newest are what explains a death.
        #expect(file.read(limit: 3).entries.map(\.text) == ["crumb 17", "crumb 18", "crumb 19"])
        #expect(file.read(limit: 0).entries.isEmpty)
    }

    @Test func longTextIsCutAtTheSlotSize() throws {
        let file = try Self.file()
        let worker = try WorkerMapping(file)
        worker.write(String(repeating: "é", count: 200))   // 400 bytes of UTF-8
        let text = try #require(file.read(limit: 4).entries.first?.text)
        #expect(text.utf8.count <= Int(BH_CRUMB_TEXT))
        #expect(text.hasPrefix(String(repeating: "é", count: 116)))
    }

    @Test func aTornSlotIsSkipped() throws {
        let file = try Self.file()
        let worker = try WorkerMapping(file)
        for i in 0..<3 { worker.write("entry \(i)") }
        // Entry 1 was being written when the worker died: its sequence is odd (2*claim+1).
        worker.slot(1).pointee.sequence = 2 * 1 + 1
        #expect(file.read(limit: 64).entries.map(\.text) == ["entry 0", "entry 2"])
        // A slot claimed but never started (still zero) is skipped too.
        worker.header.pointee.next = 4
        #expect(file.read(limit: 64).entries.map(\.text) == ["entry 0", "entry 2"])
    }

    @Test func theDyingStampIsRead() throws {
        let file = try Self.file()
        let worker = try WorkerMapping(file)
        worker.write("last words")
        let stamp = bh_monotonic_ns()
        bh_crumb_mark_dying(worker.region, stamp)
        let contents = file.read(limit: 64)
        #expect(contents.dyingStamp == stamp)
        #expect(contents.entries.map(\.text) == ["last words"])
    }

    @Test func entriesStayReadableOnceTheFdIsHandedOver() throws {
        // The daemon closes its fd once the worker has a copy; the mapping it made at the
        // start still sees everything the worker writes, and holds no fd (issue 19's budget).
        let file = try Self.file()
        let worker = try WorkerMapping(file)
        file.handedOver()
        #expect(file.descriptor == nil)
        worker.write("after the handover")
        bh_crumb_mark_dying(worker.region, 77)
        #expect(file.read(limit: 64).entries.map(\.text) == ["after the handover"])
        #expect(file.read(limit: 64).dyingStamp == 77)
        // The next process gets a new file: blank.
        let next = try Self.file()
        #expect(next.read(limit: 64).entries.isEmpty && next.read(limit: 64).dyingStamp == 0)
    }

    @Test func aHostileHeaderIsNotARing() throws {
        let file = try Self.file(capacity: 16)
        let worker = try WorkerMapping(file)
        for i in 0..<4 { worker.write("entry \(i)") }

        worker.header.pointee.magic = 0xDEAD_BEEF
        #expect(file.read(limit: 64).entries.isEmpty)
        #expect(file.read(limit: 64).dyingStamp == 0)
        #expect(worker.write("refused") == -1)

        worker.header.pointee.magic = BH_CRUMB_MAGIC
        for capacity: UInt32 in [0, 17, 4097, 1 << 20, .max] {
            worker.header.pointee.capacity = capacity
            #expect(file.read(limit: 64).entries.isEmpty, "capacity \(capacity)")
            #expect(worker.write("refused") == -1, "capacity \(capacity)")
        }

        // A claim counter near the top of UInt64 (sequence arithmetic wraps): no trap.
        worker.header.pointee.capacity = 16
        worker.header.pointee.next = .max
        _ = file.read(limit: 64)
        worker.header.pointee.next = .max - 3
        _ = file.read(limit: 64)
    }

    @Test func hostileSlotsAreBoundedByTheSlotSize() throws {
        let file = try Self.file(capacity: 16)
        let worker = try WorkerMapping(file)
        for i in 0..<16 { worker.write("entry \(i)") }
        for i in 0..<16 { worker.slot(i).pointee.length = .max }
        let entries = file.read(limit: 64).entries
        #expect(entries.count == 16)
        #expect(entries.allSatisfy { $0.text.utf8.count <= Int(BH_CRUMB_TEXT) * 3 })   // U+FFFD is 3 bytes
    }

    @Test func randomBytesNeverCrashTheReader() throws {
        let file = try Self.file(capacity: 16)
        let worker = try WorkerMapping(file)
        var generator = SplitMix64(seed: 0xC0FFEE)
        for round in 0..<300 {
            let raw = worker.region.assumingMemoryBound(to: UInt8.self)
            for i in 0..<worker.size { raw[i] = UInt8(truncatingIfNeeded: generator.next()) }
            if round % 2 == 0 {
                // Half the time a plausible header, so the slots are actually walked.
                worker.header.pointee.magic = BH_CRUMB_MAGIC
                worker.header.pointee.capacity = UInt32(1 + generator.next() % 16)
                worker.header.pointee.next = generator.next() % 100
            }
            let contents = file.read(limit: 64)
            #expect(contents.entries.count <= 16)
        }
    }

    @Test func theWorkerCannotTruncateTheFileUnderUs() throws {
        // The worker holds the memfd. Had it cut the file, touching a page we mapped past the
        // new end would be SIGBUS in bulkhead: the file is sealed at its size instead.
        let file = try Self.file()
        let worker = try WorkerMapping(file)
        worker.write("before the truncate")
        #expect(ftruncate(file.descriptor!.rawValue, 0) == -1 && errno == EPERM)
        #expect(ftruncate(file.descriptor!.rawValue, off_t(file.size / 2)) == -1 && errno == EPERM)
        #expect(ftruncate(file.descriptor!.rawValue, off_t(file.size * 2)) == -1 && errno == EPERM)
        var info = stat()
        #expect(fstat(file.descriptor!.rawValue, &info) == 0 && Int(info.st_size) == file.size)
        #expect(file.read(limit: 64).entries.map(\.text) == ["before the truncate"])
        // SHRINK | GROW | SEAL (F_GET_SEALS, 1034: _GNU_SOURCE names Swift does not import), so
        // it cannot add F_SEAL_WRITE (F_ADD_SEALS, 1033) either.
        #expect(fcntl(file.descriptor!.rawValue, 1034) & 0x7 == 0x7)
        #expect(fcntl(file.descriptor!.rawValue, 1033, 0x8) == -1 && errno == EPERM)
    }

    @Test func theCReaderRefusesARegionSmallerThanAHeader() {
        var bytes = [UInt8](repeating: 0, count: 16)
        var out = bh_crumb_entry()
        let n = bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: BH_CRUMB_MAGIC, toByteOffset: 0, as: UInt32.self)
            return bh_crumb_read(raw.baseAddress, raw.count, &out, 1)
        }
        #expect(n == 0)
        #expect(bh_crumb_read(nil, 4096, &out, 1) == 0)
        #expect(bytes.withUnsafeMutableBytes { bh_crumb_write($0.baseAddress, $0.count, 0, "x", 1) } == -1)
    }
}
