import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `Epoll` and `SignalDescriptor`: the daemon's one wait, and signals taken as events.
///
/// A child's SIGCHLD is sent to the whole process, and the kernel hands it to any thread that
/// does not block it. The daemon blocks SIGCHLD before it starts a thread, so its signalfd sees
/// every one; a test process cannot (Swift Testing's threads exist before any test runs, and
/// measured here they took 34 of 40 SIGCHLDs from a signalfd in one thread). So the SIGCHLD
/// tests run in a forked copy of the test process, which has exactly one thread, as the daemon's
/// supervision thread effectively does.
extension Processes {
    @Suite struct SignalDescriptorTests {
        @Test func epollReportsReadinessWithItsToken() throws {
            var epoll = try Epoll(capacity: 4)
            let pipe = try Pipe()
            defer { pipe.readEnd.close(); pipe.writeEnd.close() }
            #expect(epoll.descriptor.rawValue >= BH_HIGH_FD_BASE)
            try epoll.add(pipe.readEnd, .readable, token: 0xB0B)
            // Nothing yet: a zero timeout returns at once, empty.
            #expect(try epoll.wait(timeoutNanoseconds: 0).isEmpty)
            try pipe.writeEnd.writeAll([1, 2, 3])
            let ready = try epoll.wait(timeoutNanoseconds: 5_000_000_000)
            #expect(ready.count == 1)
            #expect(ready.first?.token == 0xB0B && ready.first?.isReadable == true && ready.first?.isHangup == false)

            // A write end is writable at once; a closed peer shows as hangup.
            try epoll.add(pipe.writeEnd, .writable, token: 2)
            let both = try epoll.wait(timeoutNanoseconds: 5_000_000_000)
            #expect(Set(both.map(\.token)) == [0xB0B, 2])
            try epoll.modify(pipe.writeEnd, .readable, token: 3)
            epoll.remove(pipe.readEnd)
            #expect(try epoll.wait(timeoutNanoseconds: 0).isEmpty)
            epoll.remove(pipe.writeEnd)
            epoll.remove(pipe.writeEnd)   // twice: harmless
        }

        @Test func epollSeesAPeerHangup() throws {
            var epoll = try Epoll(capacity: 4)
            let pipe = try Pipe()
            defer { pipe.readEnd.close() }
            try epoll.add(pipe.readEnd, [.readable, .peerClosed], token: 9)
            pipe.writeEnd.close()
            let ready = try epoll.wait(timeoutNanoseconds: 5_000_000_000)
            #expect(ready.first?.token == 9 && ready.first?.isHangup == true)
        }

        @Test func epollWaitTimesOutWithoutEvents() throws {
            var epoll = try Epoll(capacity: 4)
            let pipe = try Pipe()
            defer { pipe.readEnd.close(); pipe.writeEnd.close() }
            try epoll.add(pipe.readEnd, .readable, token: 1)
            let start = bh_monotonic_ns()
            #expect(try epoll.wait(timeoutNanoseconds: 20_000_000).isEmpty)
            #expect(bh_monotonic_ns() - start >= 20_000_000)
        }

        @Test func addingAClosedDescriptorThrowsEBADF() throws {
            let epoll = try Epoll(capacity: 4)
            // A number at the fd limit: never open. (A pipe closed for the purpose would be
            // racy: another thread of the test process may be given its number at once.)
            var limit = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            let closed = FileDescriptor(rawValue: Int32(clamping: limit.rlim_cur))
            #expect(throws: SystemError(EBADF, "epoll_ctl(ADD)")) {
                try epoll.add(closed, .readable, token: 1)
            }
        }

        @Test func aSignalSentToTheThreadIsReadOnceWhenSentTwice() throws {
            // Thread-directed signals go to that thread alone, so this runs in-process. Not with
            // SIGCHLD: a signalfd also takes signals pending for the whole process, and other
            // tests' children end (SIGCHLD) all the time. Nothing sends this process SIGUSR2.
            // (What the thread saw comes back as values: an #expect on a thread of its own is
            // not attributed to this test.)
            struct Seen {
                var before: [SignalDescriptor.Delivery] = []
                var readable = false
                var first: [SignalDescriptor.Delivery] = []
                var second: [SignalDescriptor.Delivery] = []
                var other: [Int32] = []
            }
            let seen = try onOwnThread { () throws -> Seen in
                var seen = Seen()
                try SignalDescriptor.block([SIGUSR2, SIGUSR1])
                let signals = try SignalDescriptor([SIGUSR2])
                seen.before = try signals.drain()
                pthread_kill(pthread_self(), SIGUSR2)
                pthread_kill(pthread_self(), SIGUSR2)
                pthread_kill(pthread_self(), SIGUSR1)   // blocked, but not in this signalfd's set
                seen.readable = waitReadable(signals.descriptor.rawValue, until: deadline(milliseconds: 5000))
                seen.first = try signals.drain()
                seen.second = try signals.drain()
                // Take the pending SIGUSR1 off this thread before it ends.
                let other = try SignalDescriptor([SIGUSR1])
                seen.other = try other.drain().map(\.signal)
                return seen
            }
            #expect(seen.before.isEmpty)
            #expect(seen.readable)
            #expect(seen.first.count == 1)
            #expect(seen.first.first?.signal == SIGUSR2)
            #expect(seen.first.first?.senderPID == getpid())
            #expect(seen.first.first?.senderUID == getuid())
            #expect(seen.second.isEmpty)
            #expect(seen.other == [SIGUSR1])
        }

        @Test func sigchldArrivesThroughTheSignalfdAndOneSignalReapsManyChildren() throws {
            let report = try inSingleThreadedCopy { () -> [String: String] in
                var facts: [String: String] = [:]
                do {
                    let null = FileDescriptor(rawValue: bh_open("/dev/null", O_RDWR, 0))
                    func spawnTrue(_ code: Int) throws -> Int32 {
                        try Spawner.spawn(SpawnRequest(
                            executable: "/bin/sh", arguments: ["sh", "-c", "exit \(code)"], environment: [],
                            standardInput: null, standardOutput: null, standardError: null))
                    }
                    try SignalDescriptor.block([SIGCHLD])
                    let signals = try SignalDescriptor([SIGCHLD])
                    var epoll = try Epoll(capacity: 8)
                    try epoll.add(signals.descriptor, .readable, token: 42)

                    // One child: its SIGCHLD wakes the epoll and names it as the sender.
                    let one = try spawnTrue(3)
                    let woke = try epoll.wait(timeoutNanoseconds: 10_000_000_000)
                    facts["one.tokens"] = woke.map { "\($0.token)" }.joined(separator: ",")
                    let deliveries = try signals.drain()
                    facts["one.signals"] = deliveries.map { "\($0.signal)" }.joined(separator: ",")
                    facts["one.senderIsChild"] = "\(deliveries.first?.senderPID == one)"
                    let exit = Reaper.reapOne()
                    facts["one.reaped"] = "\(exit?.pid == one) \(exit?.exited == true) \(exit?.code ?? -1)"
                    facts["one.thenNothing"] = "\(Reaper.reapOne() == nil)"

                    // Twenty children that are all dead before we look: their SIGCHLDs coalesce
                    // into fewer deliveries, and the reap loop still collects every one.
                    var pids = Set<Int32>()
                    for i in 0..<20 { pids.insert(try spawnTrue(i)) }
                    var allExited = true
                    for pid in pids { allExited = waitExited(pid, until: deadline(milliseconds: 10_000)) && allExited }
                    facts["many.exited"] = "\(allExited)"
                    facts["many.tokens"] = try epoll.wait(timeoutNanoseconds: 10_000_000_000).map { "\($0.token)" }.joined(separator: ",")
                    let coalesced = try signals.drain()
                    facts["many.deliveries"] = "\(coalesced.count)"
                    var reaped = Set<Int32>()
                    while let exit = Reaper.reapOne() { reaped.insert(exit.pid) }
                    facts["many.reapedAll"] = "\(reaped == pids)"
                    // A SIGCHLD that raced the loop may still be pending; after it, nothing is.
                    _ = try signals.drain()
                    facts["many.quietAfter"] = "\(try epoll.wait(timeoutNanoseconds: 0).isEmpty)"
                } catch {
                    facts["error"] = "\(error)"
                }
                return facts
            }
            #expect(report["error"] == nil)
            #expect(report["one.tokens"] == "42")
            #expect(report["one.signals"] == "\(SIGCHLD)")
            #expect(report["one.senderIsChild"] == "true")
            #expect(report["one.reaped"] == "true true 3")
            #expect(report["one.thenNothing"] == "true")
            #expect(report["many.exited"] == "true")
            #expect(report["many.tokens"] == "42")
            let deliveries = Int(report["many.deliveries"] ?? "") ?? 0
            #expect(deliveries >= 1 && deliveries < 20)
            #expect(report["many.reapedAll"] == "true")
            #expect(report["many.quietAfter"] == "true")
        }
    }
}

/// Runs `body` in a forked copy of this process (one thread: the caller's) and returns what it
/// reported. The copy only calls what is safe after fork in glibc (malloc is; the body avoids
/// anything another thread could have held a lock on), and ends with `_exit`.
func inSingleThreadedCopy(milliseconds: Int = 20_000, _ body: () -> [String: String]) throws -> [String: String] {
    let channel = try Pipe()
    let pid = fork()
    if pid == 0 {
        channel.readEnd.close()
        let text = body().map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        try? channel.writeEnd.writeAll(Array(text.utf8))
        _exit(0)
    }
    channel.writeEnd.close()
    defer { channel.readEnd.close() }
    guard pid > 0 else { throw TestFailure("fork: \(SystemError.describe(errno))") }
    let bytes = readToEnd(channel.readEnd.rawValue, until: deadline(milliseconds: milliseconds))
    if !waitExited(pid, until: deadline(milliseconds: 1000)) { kill(pid, SIGKILL) }
    let exit = reap(pid)
    guard exit?.exited == 1, exit?.code == 0 else { throw TestFailure("the forked copy did not finish (\(String(describing: exit)))") }
    var facts: [String: String] = [:]
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
        guard let eq = line.firstIndex(of: "=") else { continue }
        facts[String(line[..<eq])] = String(line[line.index(after: eq)...])
    }
    return facts
}
