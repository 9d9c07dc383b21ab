import CLinux
import Glibc
import Testing

@testable import WorkerKit

@Suite("sd_notify messages")
struct NotifyMessageTests {
    private func text(_ message: NotifyMessage) -> String {
        String(decoding: message.encoded, as: UTF8.self)
    }

    @Test func fixedMessages() {
        #expect(text(.ready) == "READY=1\n")
        #expect(text(.stopping) == "STOPPING=1\n")
        #expect(text(.watchdog) == "WATCHDOG=1\n")
        #expect(text(.status("processed 3 jobs")) == "STATUS=processed 3 jobs\n")
        #expect(text(.reloading(monotonicMicroseconds: 123_456)) == "RELOADING=1\nMONOTONIC_USEC=123456\n")
    }

    @Test func combinedFieldsInOrder() {
        #expect(text(NotifyMessage.ready.adding("STATUS", "warm")) == "READY=1\nSTATUS=warm\n")
    }

    @Test func statusStaysOneAssignment() {
        #expect(text(.status("line one\nREADY=1")) == "STATUS=line one\\nREADY=1\n")
    }

    @Test func invalidKeysLeftOut() {
        let message = NotifyMessage([.init("READY", "1"), .init("bad key", "x"), .init("", "y"), .init("lower", "z")])
        #expect(text(message) == "READY=1\n")
    }

    @Test func noSocketIsANoOp() {
        let socket = NotifySocket(address: nil)
        #expect(!socket.isEnabled)
        #expect(!socket.send(.ready))
        let context = WorkerContext(environment: .init(variables: [:], programName: "t", processID: 1), breadcrumbs: BreadcrumbRing(capacity: 2))
        #expect(!context.isSupervised)
        context.ready()
        context.status("x")
        context.watchdogPing()
        context.stopping()
        context.reloading()
    }

    @Test func datagramsReachAnAbstractSocket() async throws {
        let listener = try NotifyListener()
        let context = WorkerContext(
            environment: .init(variables: ["NOTIFY_SOCKET": listener.address], programName: "t", processID: getpid()),
            breadcrumbs: BreadcrumbRing(capacity: 2)
        )
        #expect(context.isSupervised)
        context.ready(status: "warm")
        context.watchdogPing()
        let first = try #require(await listener.next(until: deadline(in: 10)))
        #expect(first.text == "READY=1\nSTATUS=warm\n")
        #expect(first.senderPID == getpid())
        let second = try #require(await listener.next(until: deadline(in: 10)))
        #expect(second.text == "WATCHDOG=1\n")
    }

    /// The receiver queues only `max_dgram_qlen` (10) datagrams; past that a blocking sender
    /// would hang until the supervisor reads. WorkerKit's sends drop instead.
    @Test func aSupervisorThatDoesNotReadNeverBlocksTheWorker() throws {
        let listener = try NotifyListener()
        let socket = NotifySocket(address: listener.address)
        let start = ContinuousClock.now
        let results = (0..<100).map { socket.send(.status("busy \($0)")) }
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(results.first == true)
        #expect(results.last == false)
        let patient = ContinuousClock.now
        #expect(!socket.send(.ready, patience: .milliseconds(200)))
        let waited = ContinuousClock.now - patient
        #expect(waited >= .milliseconds(150) && waited < .seconds(5))
    }

    /// A status that finds the queue full is not lost: the newest one arrives once the
    /// supervisor reads again, and the worker never waited for it.
    @Test func aStatusThatFindsNoRoomArrivesLaterNewestOnly() async throws {
        let listener = try NotifyListener()
        let socket = NotifySocket(address: listener.address)
        let context = WorkerContext(
            environment: .init(variables: ["NOTIFY_SOCKET": listener.address], programName: "t", processID: getpid()),
            breadcrumbs: BreadcrumbRing(capacity: 2)
        )
        var filler = 0
        while socket.send(.watchdog) { filler += 1 }   // the receiver's queue is full now
        let start = ContinuousClock.now
        for step in 1...5 { context.status("step \(step)") }
        #expect(ContinuousClock.now - start < .seconds(1), "status waited for the supervisor")

        var statuses: [String] = []
        let end = deadline(in: 20)
        while !statuses.contains("step 5"), let datagram = await listener.next(until: end) {
            statuses += datagram.assignments.filter { $0.hasPrefix("STATUS=") }.map { String($0.dropFirst(7)) }
        }
        #expect(filler > 0)
        // The newest arrives, nothing older after something newer, and what waited while a
        // newer one was posted was superseded.
        #expect(statuses.last == "step 5", "\(statuses)")
        #expect(statuses == statuses.sorted(), "\(statuses)")
        #expect(statuses.count < 5, "nothing was superseded: \(statuses)")
    }

    @Test func aGoneSupervisorIsNoError() {
        #expect(!NotifySocket(address: "@workerkit-test/nobody-listens/\(getpid())").send(.ready, patience: .seconds(5)))
        #expect(!NotifySocket(address: "/nonexistent/notify.sock").send(.ready))
    }

    @Test func pathSocketsWork() async throws {
        let path = "/tmp/workerkit-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = bh_notify_socket(path, 65536)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        #expect(NotifySocket(address: path).send(.status("on a path")))
        var buffer = [UInt8](repeating: 0, count: 256)
        var info = bh_datagram()
        let got = buffer.withUnsafeMutableBytes { bh_notify_receive(fd, $0.baseAddress, $0.count, &info) }
        #expect(got == 1)
        #expect(String(decoding: buffer[0..<info.length], as: UTF8.self) == "STATUS=on a path\n")
    }
}

@Suite("Worker environment")
struct WorkerEnvironmentTests {
    @Test func standaloneHasNothing() {
        let environment = WorkerEnvironment(variables: [:], programName: "jobworker", processID: 10)
        #expect(environment.notifySocket == nil)
        #expect(environment.watchdogInterval == nil)
        #expect(environment.breadcrumbsFileDescriptor == nil)
        #expect(environment.displayName == "jobworker")
    }

    @Test func bulkheadVariables() {
        let environment = WorkerEnvironment(
            variables: [
                "NOTIFY_SOCKET": "@bulkhead/1/api:0", "WATCHDOG_USEC": "5000000", "BULKHEAD_WORKER": "api",
                "BULKHEAD_INSTANCE": "api:0", "BULKHEAD_INSTANCE_INDEX": "0", "BULKHEAD_BREADCRUMBS_FD": "3",
                "BULKHEAD_STOP_TIMEOUT_USEC": "2000000",
            ],
            programName: "api",
            processID: 10
        )
        #expect(environment.notifySocket == "@bulkhead/1/api:0")
        #expect(environment.watchdogInterval == .seconds(5))
        #expect(environment.workerName == "api")
        #expect(environment.instance == "api:0")
        #expect(environment.instanceIndex == 0)
        #expect(environment.breadcrumbsFileDescriptor == 3)
        #expect(environment.stopTimeout == .seconds(2))
        #expect(environment.displayName == "api:0")
    }

    @Test func watchdogForAnotherProcessIsIgnored() {
        let other = WorkerEnvironment(variables: ["WATCHDOG_USEC": "100", "WATCHDOG_PID": "11"], programName: "w", processID: 10)
        #expect(other.watchdogInterval == nil)
        let mine = WorkerEnvironment(variables: ["WATCHDOG_USEC": "100", "WATCHDOG_PID": "10"], programName: "w", processID: 10)
        #expect(mine.watchdogInterval == .microseconds(100))
    }

    @Test func malformedValuesCountAsAbsent() {
        let environment = WorkerEnvironment(
            variables: ["NOTIFY_SOCKET": "relative/path", "WATCHDOG_USEC": "soon", "BULKHEAD_BREADCRUMBS_FD": "-1"],
            programName: "w",
            processID: 1
        )
        #expect(environment.notifySocket == nil)
        #expect(environment.watchdogInterval == nil)
        #expect(environment.breadcrumbsFileDescriptor == nil)
        #expect(WorkerEnvironment(variables: ["WATCHDOG_USEC": "0"], programName: "w", processID: 1).watchdogInterval == nil)
    }

    @Test func stopGrace() {
        #expect(StopGrace.automatic.resolved(stopTimeout: nil) == .seconds(9))
        #expect(StopGrace.automatic.resolved(stopTimeout: .seconds(10)) == .seconds(9))
        #expect(StopGrace.automatic.resolved(stopTimeout: .seconds(2)) == .milliseconds(1800))
        #expect(StopGrace.automatic.resolved(stopTimeout: .seconds(60)) == .seconds(59))
        #expect(StopGrace.after(.seconds(3)).resolved(stopTimeout: .seconds(60)) == .seconds(3))
        #expect(StopGrace.unlimited.resolved(stopTimeout: .seconds(60)) == nil)
    }
}

@Suite("Stop request")
struct StopControllerTests {
    @Test func waitersWakeAndActionsRunOnce() async {
        let stop = StopController()
        let waiter = Task { await stop.wait() }
        let counter = Counter()
        stop.onRequest { counter.increment() }
        #expect(!stop.isRequested)
        #expect(stop.request(signal: SIGTERM))
        #expect(!stop.request(signal: SIGINT))
        await waiter.value
        #expect(stop.isRequested)
        #expect(stop.signal == SIGTERM)
        #expect(counter.value == 1)
        stop.onRequest { counter.increment() }
        #expect(counter.value == 2)
        await stop.wait()
    }

    @Test func waitEndsOnCancellation() async {
        let stop = StopController()
        let waiter = Task { await stop.wait() }
        waiter.cancel()
        await waiter.value
        #expect(!stop.isRequested)
    }

    @Test func contextReportsStop() async {
        let stop = StopController()
        let context = WorkerContext(environment: .init(variables: [:], programName: "t", processID: 1), breadcrumbs: BreadcrumbRing(capacity: 2), logger: nil, stop: stop)
        #expect(!context.isStopping)
        stop.request()
        await context.stopRequested()
        #expect(context.isStopping)
    }
}

import Synchronization

final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
