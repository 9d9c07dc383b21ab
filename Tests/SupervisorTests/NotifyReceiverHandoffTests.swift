@testable import Supervisor
import BulkheadPolicy
import BulkheadSystem
import Glibc
import Testing

/// The one notify socket and the former names bound for adopted workers: datagrams sent to a
/// former name are read like any other (the sender told apart by its pid), and a re-exec's
/// handoff carries the socket, the former names and the counts to the next image.
@Suite struct NotifyReceiverHandoffTests {
    static let web = InstanceID(worker: "web", index: 0)

    /// This test process plays the worker: its pid is `web:0`'s main process.
    static var senders: NotifyReceiver.Senders {
        NotifyReceiver.Senders(mainProcess: { $0 == getpid() ? web : nil }, cgroupOwner: { _ in nil })
    }

    /// Received until `count` notifications came (datagrams are queued in the kernel at once).
    static func notifications(_ receiver: NotifyReceiver) -> [(InstanceID, Supervision.Notification)] {
        receiver.receive(senders).notifications
    }

    /// A daemon pid no real daemon here has: names of its own, apart from other tests'.
    static func fakeDaemonPID() -> Int32 { Int32.random(in: 4_000_000...4_100_000) }

    @Test func aFormerNameIsReadLikeTheSocket() throws {
        let loop = try EventLoop()
        let receiver = try NotifyReceiver(loop: loop, daemonPID: Self.fakeDaemonPID())
        defer { receiver.close() }
        let former = "@bulkhead-test/\(Self.fakeDaemonPID())/notify"
        try receiver.listen(alsoOn: former)
        try receiver.listen(alsoOn: former)   // bound once
        try receiver.listen(alsoOn: receiver.socket.name)   // its own name: nothing to bind
        #expect(receiver.formerSockets.map(\.socket.name) == [former])
        try NotifySocket.send("WATCHDOG=1", to: former)
        try NotifySocket.send("READY=1", to: receiver.socket.name)
        let got = Self.notifications(receiver)
        #expect(got.map(\.0) == [Self.web, Self.web])
        #expect(Set(got.map { "\($0.1)" }) == ["watchdog", "ready"], "\(got)")
    }

    @Test func theHandoffCarriesTheSocketFormerNamesAndCounts() throws {
        let loop = try EventLoop()
        let before = try NotifyReceiver(loop: loop, daemonPID: Self.fakeDaemonPID())
        let former = "@bulkhead-test/\(Self.fakeDaemonPID())/notify"
        try before.listen(alsoOn: former)
        before.restoreCounts(rejected: [Self.web: 3], total: 5, strangers: 2)
        let (section, keep) = before.handoff()
        #expect(keep.count == 2)
        try NotifyReceiver.validate(section)

        // The next image: the same fds, taken over (the old receiver is not closed: its fds
        // now belong to the new one, as across execve).
        let nextLoop = try EventLoop()
        let after = try NotifyReceiver(loop: nextLoop, daemonPID: getpid(), inherited: NotifyReceiver.inheritedSocket(section))
        defer { after.close() }
        after.restore(section)
        #expect(after.socket.name == before.socket.name)
        #expect(after.formerSockets.map(\.socket.name) == [former])
        #expect(after.rejected == [Self.web: 3] && after.rejectedTotal == 5 && after.strangerRejections == 2)
        try NotifySocket.send("WATCHDOG=1", to: former)
        try NotifySocket.send("STATUS=serving", to: before.socket.name)
        #expect(Self.notifications(after).count == 2)
    }

    @Test func aHandoffWithoutTheSocketIsRefused() {
        #expect(throws: HandoffError.self) { try NotifyReceiver.validate(.object([])) }
        #expect(throws: HandoffError.self) {
            try NotifyReceiver.validate(.object([("socket", .object([("fd", .int(100_000)), ("name", .string("@x"))]))]))
        }
    }
}
