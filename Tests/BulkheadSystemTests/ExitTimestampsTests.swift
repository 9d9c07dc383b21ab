import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `ExitTimestamps`: the proc connector's exit events, filtered in the kernel to our children.
/// Needs CAP_NET_ADMIN in the initial namespaces; skipped elsewhere.
extension Processes {
    @Suite(.enabled(if: procConnectorAvailable, "the proc connector needs CAP_NET_ADMIN in the initial namespaces"))
    struct ExitTimestampsTests {

        /// Drains `events` until `pid`'s exit is among them (or the deadline passes); returns
        /// everything seen on the way, in arrival order.
        static func collect(_ events: ExitTimestamps, until pid: Int32) -> [(pid: Int32, nanoseconds: UInt64)] {
            var seen: [(pid: Int32, nanoseconds: UInt64)] = []
            let end = deadline(milliseconds: 10_000)
            while !seen.contains(where: { $0.pid == pid }) && waitReadable(events.descriptor.rawValue, until: end) {
                var lost = false
                seen += events.drain(lost: &lost)
                #expect(!lost)
            }
            return seen
        }

        @Test func exitOfOurChildArrivesWithItsMonotonicTime() throws {
            let events = try ExitTimestamps()
            let spawnedAt = bh_monotonic_ns()
            let child = try Child.shell("exit 0")
            let seen = Self.collect(events, until: child.pid)
            #expect(waitExited(child.pid, until: deadline(milliseconds: 10_000)))
            let reapedAt = bh_monotonic_ns()
            child.wait()
            let stamp = try #require(seen.last { $0.pid == child.pid }?.nanoseconds)
            // Same clock as ours: after the spawn, not after the reap, and close to it.
            #expect(stamp >= spawnedAt)
            #expect(stamp <= reapedAt)
            #expect(reapedAt - stamp < 5_000_000_000)
        }

        @Test func exitsOfProcessesThatAreNotOurChildrenAreFilteredOut() throws {
            let events = try ExitTimestamps()
            // The grandchild exits first (the shell waits for it), then the shell. Events come
            // in order, so once the shell's is here the grandchild's would have been too.
            let child = try Child.shell("/bin/true & wait $!; echo $!")
            let seen = Self.collect(events, until: child.pid)
            let result = child.finish()
            let grandchild = try #require(Int32(result.stdout.split(separator: "\n").first ?? ""))
            #expect(seen.contains { $0.pid == child.pid })
            #expect(!seen.contains { $0.pid == grandchild })
        }

        /// Draining never waits: once the queue is empty it returns. (Other tests of this process
        /// spawn children at the same time, so what it returns cannot be asserted empty.)
        @Test func drainReturnsAtOnceWhenTheQueueIsEmpty() throws {
            let events = try ExitTimestamps()
            var lost = false
            let started = bh_monotonic_ns()
            _ = events.drain(lost: &lost)
            _ = events.drain(lost: &lost)
            #expect(bh_monotonic_ns() - started < 1_000_000_000)
            #expect(!lost)
            #expect(events.descriptor.rawValue >= BH_HIGH_FD_BASE)
        }
    }
}

let procConnectorAvailable: Bool = {
    guard getuid() == 0 else { return false }
    return (try? ExitTimestamps()) != nil
}()
