@testable import Supervisor
import BulkheadPolicy
import BulkheadState
import BulkheadSystem
import Glibc
import Testing

/// `state_dir/state.json`: written whole and durably, read back, and a bad one moved aside.
@Suite struct StateStoreTests {
    static func entry(_ name: String, _ phase: Phase, wanted: Bool = true) -> InstanceEntry {
        InstanceEntry(record: InstanceRecord(id: InstanceID(parsing: name)!, wanted: wanted, phase: phase, restarts: 3))
    }

    @Test func writesTheEntriesInOrderAndReadsThemBack() throws {
        let directory = try temporaryDirectory("state")
        defer { FileSystem.removeTree(directory) }
        let path = directory + "/state.json"
        let store = StateStore(path: path, daemonPID: 4242, background: false)
        let a = Self.entry("api:0", .quarantined)
        let b = Self.entry("web:0", .stopped, wanted: false)
        store.update([(b.record.id, b), (a.record.id, a)], order: [a.record.id, b.record.id])
        guard case .document(let document) = StateStore.load(path: path) else {
            Issue.record("not read back")
            return
        }
        #expect(document.instances == [a, b])
        #expect(document.daemonPID == 4242)
        #expect(document.clock.bootID == ProcFS.bootID())
        // An instance that leaves goes from the file.
        store.update([(a.record.id, nil)], order: [b.record.id])
        guard case .document(let after) = StateStore.load(path: path) else { return }
        #expect(after.instances == [b])
        #expect(!FileSystem.exists(path + ".tmp"), "the temp file was renamed over the state file")
        #expect(store.writeCount == 2)
    }

    @Test func aMissingFileIsAFirstStart() throws {
        let directory = try temporaryDirectory("state")
        defer { FileSystem.removeTree(directory) }
        guard case .none = StateStore.load(path: directory + "/state.json") else {
            Issue.record("a missing file is not a first start")
            return
        }
    }

    @Test(arguments: [Array("{\"format\":\"bulkhead-state\",\"ver".utf8), [], Array("\u{0}\u{1}garbage".utf8)])
    func aBadFileIsMovedAsideWithTheReason(_ bytes: [UInt8]) throws {
        let directory = try temporaryDirectory("state")
        defer { FileSystem.removeTree(directory) }
        let path = directory + "/state.json"
        try FileSystem.writeAtomically(path, bytes)
        guard case .corrupt(let reason, let movedTo) = StateStore.load(path: path) else {
            Issue.record("a bad file was read")
            return
        }
        #expect(!reason.isEmpty)
        #expect(movedTo?.hasPrefix(path + ".corrupt-") == true)
        #expect(!FileSystem.exists(path))
        #expect(FileSystem.read(movedTo ?? "") == bytes, "what was moved aside is what was there")
    }

    @Test func theWriterThreadCoalescesABurst() throws {
        let directory = try temporaryDirectory("state")
        defer { FileSystem.removeTree(directory) }
        let path = directory + "/state.json"
        let store = StateStore(path: path, daemonPID: 1)
        let ids = (0..<200).map { InstanceID(worker: "w", index: $0) }
        for (n, id) in ids.enumerated() {
            store.update([(id, Self.entry(id.description, .backoff(until: Instant(nanoseconds: UInt64(n)))))], order: Array(ids.prefix(n + 1)))
        }
        store.flush()
        guard case .document(let document) = StateStore.load(path: path) else {
            Issue.record("not written")
            return
        }
        #expect(document.instances.count == 200)
        #expect(store.writeCount < 50, "\(store.writeCount) writes for a burst of 200 changes")
    }
}
