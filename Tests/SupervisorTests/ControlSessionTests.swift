import BulkheadControl
import BulkheadPolicy
import Testing
@testable import Supervisor

/// The control connection's state machine on its own: no socket, no process, time as an
/// argument. Each case feeds events and checks what the connection is told to do.
@Suite("Control session")
struct ControlSessionTests {
    static func at(_ seconds: Double) -> Instant {
        Instant(nanoseconds: UInt64(seconds * 1e9))
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Feeds `text` as one read.
    static func feed(_ session: inout ControlSession, _ text: String, _ t: Double) -> [ControlSession.Action] {
        let bytes = Self.bytes(text)
        return bytes.withUnsafeBytes { session.received($0, at(t)) }
    }

    static func command(_ result: Result<ControlRequest, ControlFailure>?) -> String? {
        if case .success(let request)? = result { return request.command }
        return nil
    }

    static func failure(_ result: Result<ControlRequest, ControlFailure>?) -> ControlFailure.Code? {
        if case .failure(let failure)? = result { return failure.code }
        return nil
    }

    @Test("one request: taken, answered, written: idle again and the connection stays")
    func oneRequest() {
        var s = ControlSession(now: Self.at(0))
        #expect(s.wantsInput)
        #expect(Self.feed(&s, #"{"v":1,"cmd":"ping"}"# + "\n", 0.1).isEmpty)
        #expect(!s.wantsInput, "a complete request waits: no more reading")
        #expect(Self.command(s.takeRequest(Self.at(0.1))) == "ping")
        #expect(s.state == .executing)
        #expect(s.takeRequest(Self.at(0.1)) == nil, "one at a time")
        s.replyQueued(follow: false, Self.at(0.1))
        #expect(s.state == .replying)
        #expect(s.replyWritten(Self.at(0.2)).isEmpty)
        #expect(s.state == .idle)
        #expect(s.wantsInput)
    }

    @Test("pipelined requests are served in order, the next only after the previous reply is written")
    func pipelined() {
        var s = ControlSession(now: Self.at(0))
        _ = Self.feed(&s, #"{"v":1,"cmd":"ping"}"# + "\n" + #"{"v":1,"cmd":"status"}"# + "\n", 0)
        #expect(Self.command(s.takeRequest(Self.at(0))) == "ping")
        s.replyQueued(follow: false, Self.at(0))
        #expect(s.takeRequest(Self.at(0)) == nil, "the ping's reply is not written yet")
        _ = s.replyWritten(Self.at(0))
        #expect(Self.command(s.takeRequest(Self.at(0))) == "status")
    }

    @Test("a request split over reads is taken once its newline arrives")
    func splitRequest() {
        var s = ControlSession(now: Self.at(0))
        _ = Self.feed(&s, #"{"v":1,"cm"#, 0)
        #expect(s.takeRequest(Self.at(0)) == nil)
        #expect(s.wantsInput)
        _ = Self.feed(&s, #"d":"ping"}"# + "\n", 1)
        #expect(Self.command(s.takeRequest(Self.at(1))) == "ping")
    }

    @Test("garbage: an error, then the connection closes once the error is written")
    func badRequest() {
        var s = ControlSession(now: Self.at(0))
        _ = Self.feed(&s, "not json\n", 0)
        #expect(Self.failure(s.takeRequest(Self.at(0))) == .badRequest)
        #expect(s.state == .closing(since: Self.at(0)))
        #expect(!s.wantsInput)
        #expect(s.replyWritten(Self.at(0.1)) == [.close])
        #expect(s.state == .closed)
    }

    @Test("a request over the size cap is refused as soon as it is seen, newline or not")
    func tooLarge() {
        var s = ControlSession(now: Self.at(0))
        let huge = String(repeating: "a", count: ControlProtocol.maxRequestBytes + 1)
        let actions = Self.feed(&s, huge, 0)
        guard case .fail(let failure, let close)? = actions.first else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect(failure.code == .tooLarge)
        #expect(close)
        #expect(!s.wantsInput)
    }

    @Test("end of input with half a request: truncated, closed; with nothing pending: closed quietly")
    func endOfInput() {
        var half = ControlSession(now: Self.at(0))
        _ = Self.feed(&half, #"{"v":1,"cmd":"status""#, 0)
        let actions = half.inputClosed(Self.at(1))
        guard case .fail(let failure, true)? = actions.first else {
            Issue.record("expected truncated, got \(actions)")
            return
        }
        #expect(failure.code == .badRequest)
        #expect(failure.message.contains("truncated"))

        var done = ControlSession(now: Self.at(0))
        #expect(done.inputClosed(Self.at(1)).isEmpty)
        #expect(done.state == .closing(since: Self.at(1)))
        #expect(done.replyWritten(Self.at(1)) == [.close])
    }

    @Test("end of input while a reply is on its way: the reply first, then closed")
    func endOfInputWhileReplying() {
        var s = ControlSession(now: Self.at(0))
        _ = Self.feed(&s, #"{"v":1,"cmd":"status"}"# + "\n", 0)
        _ = s.takeRequest(Self.at(0))
        s.replyQueued(follow: false, Self.at(0))
        #expect(s.inputClosed(Self.at(0.1)).isEmpty)
        #expect(s.state == .replying)
        #expect(s.replyWritten(Self.at(0.2)).isEmpty)
        #expect(s.state == .closing(since: Self.at(0.2)))
    }

    @Test("deadlines", arguments: [
        // (what happened, when the deadline is, what it does)
        ("idle", 60.0, "close"),
        ("half a request (slow loris)", 5.0, "timeout"),
        ("a reply nobody reads", 30.0, "close"),
        ("closing and not reading", 2.0, "close"),
    ])
    func deadlines(_ situation: String, _ after: Double, _ outcome: String) {
        var s = ControlSession(now: Self.at(0))
        var pending = false
        switch situation {
        case "half a request (slow loris)":
            _ = Self.feed(&s, #"{"v":1,"#, 0)
        case "a reply nobody reads":
            _ = Self.feed(&s, #"{"v":1,"cmd":"status"}"# + "\n", 0)
            _ = s.takeRequest(Self.at(0))
            s.replyQueued(follow: false, Self.at(0))
            pending = true
        case "closing and not reading":
            _ = Self.feed(&s, "garbage\n", 0)
            _ = s.takeRequest(Self.at(0))
            pending = true
        default:
            break
        }
        #expect(s.deadline(hasPendingOutput: pending) == Self.at(after), "\(situation)")
        #expect(s.deadlinePassed(hasPendingOutput: pending, Self.at(after - 0.001)).isEmpty, "not yet: \(situation)")
        let actions = s.deadlinePassed(hasPendingOutput: pending, Self.at(after))
        switch outcome {
        case "timeout":
            guard case .fail(let failure, true)? = actions.first else {
                Issue.record("\(situation): expected a timeout, got \(actions)")
                return
            }
            #expect(failure.code == .timeout)
        default:
            #expect(actions == [.close], "\(situation)")
            #expect(s.state == .closed)
        }
    }

    @Test("a follower: nothing it sends is served, no idle timeout, it goes when the peer goes")
    func follower() {
        var s = ControlSession(now: Self.at(0))
        _ = Self.feed(&s, #"{"v":1,"cmd":"logs","args":{"names":["a"],"follow":true}}"# + "\n", 0)
        _ = s.takeRequest(Self.at(0))
        s.replyQueued(follow: true, Self.at(0))
        #expect(s.state == .following)
        #expect(Self.feed(&s, #"{"v":1,"cmd":"ping"}"# + "\n", 1).isEmpty)
        #expect(s.takeRequest(Self.at(1)) == nil)
        #expect(s.deadline(hasPendingOutput: false) == nil)
        #expect(s.peerGone() == [.close])
    }

    @Test("a follower that stops reading is kept for the follower stall timeout, not the reply one")
    func stalledFollower() {
        var s = ControlSession(now: Self.at(0))
        _ = Self.feed(&s, #"{"v":1,"cmd":"events","args":{"follow":true}}"# + "\n", 0)
        _ = s.takeRequest(Self.at(0))
        s.replyQueued(follow: true, Self.at(0))
        #expect(s.deadline(hasPendingOutput: true) == Self.at(0) + ControlSession.followerStallTimeout)
        #expect(s.deadlinePassed(hasPendingOutput: true, Self.at(31)).isEmpty, "30 s without reading: still following")
        #expect(s.state == .following)
        #expect(s.deadlinePassed(hasPendingOutput: true, Self.at(301)) == [.close])
    }

    @Test("a reply deferred (crash ID waiting for its report) keeps the request in hand")
    func deferredReply() {
        var s = ControlSession(now: Self.at(0))
        _ = Self.feed(&s, #"{"v":1,"cmd":"crash","args":{"id":"x"}}"# + "\n", 0)
        _ = s.takeRequest(Self.at(0))
        #expect(s.state == .executing)
        _ = Self.feed(&s, #"{"v":1,"cmd":"ping"}"# + "\n", 0.5)
        #expect(s.takeRequest(Self.at(0.5)) == nil, "the next request waits for the deferred reply")
        s.replyQueued(follow: false, Self.at(1))
        _ = s.replyWritten(Self.at(1))
        #expect(Self.command(s.takeRequest(Self.at(1))) == "ping")
    }
}

@Suite("Control commands")
struct ControlCommandTests {
    static func parse(_ json: String) -> Result<ControlCommand, ControlFailure> {
        let bytes = Array(json.utf8)
        let request = bytes.withUnsafeBytes { ControlRequest.parse($0) }
        switch request {
        case .success(let request): return ControlCommand.parse(request)
        case .failure(let failure): return .failure(failure)
        }
    }

    @Test("every command reads its arguments", arguments: [
        (#"{"v":1,"cmd":"ping"}"#, ControlCommand.ping),
        (#"{"v":1,"cmd":"status"}"#, .status(names: [], format: .json)),
        (#"{"v":1,"cmd":"status","args":{"names":["api"],"format":"table","width":80}}"#, .status(names: ["api"], format: .table(width: 80))),
        (#"{"v":1,"cmd":"status","args":{"format":"table"}}"#, .status(names: [], format: .table(width: nil))),
        (#"{"v":1,"cmd":"stop","args":{"names":["api:1"]}}"#, .instances(.stop, names: ["api:1"])),
        (#"{"v":1,"cmd":"reset","args":{"names":["all"]}}"#, .instances(.reset, names: ["all"])),
        (#"{"v":1,"cmd":"reload"}"#, .reload),
        (#"{"v":1,"cmd":"logs","args":{"name":"api","lines":5,"follow":true}}"#, .logs(names: ["api"], lines: 5, follow: true)),
        (#"{"v":1,"cmd":"crashes","args":{"name":"api"}}"#, .crashes(name: "api", limit: 50)),
        (#"{"v":1,"cmd":"crash","args":{"id":"abc"}}"#, .crash(id: "abc")),
        (#"{"v":1,"cmd":"signal","args":{"names":["api"],"signal":"usr1"}}"#, .signal(names: ["api"], signal: 10)),
        (#"{"v":1,"cmd":"signal","args":{"names":["api"],"signal":9}}"#, .signal(names: ["api"], signal: 9)),
    ])
    func parses(_ json: String, _ expected: ControlCommand) {
        #expect((try? Self.parse(json).get()) == expected, "\(json)")
    }

    @Test("bad arguments and unknown commands are refused with their code", arguments: [
        (#"{"v":1,"cmd":"frobnicate"}"#, ControlFailure.Code.unknownCommand),
        (#"{"v":1,"cmd":"stop"}"#, .badArguments),
        (#"{"v":1,"cmd":"stop","args":{"names":"api"}}"#, .badArguments),
        (#"{"v":1,"cmd":"logs","args":{"names":["a"],"lines":100001}}"#, .badArguments),
        (#"{"v":1,"cmd":"status","args":{"format":"xml"}}"#, .badArguments),
        (#"{"v":1,"cmd":"signal","args":{"names":["a"],"signal":"NOPE"}}"#, .badArguments),
        (#"{"v":1,"cmd":"signal","args":{"names":["a"],"signal":65}}"#, .badArguments),
        (#"{"v":1,"cmd":"crash"}"#, .badArguments),
        (#"{"v":1,"cmd":"crashes","args":{"limit":0}}"#, .badArguments),
    ])
    func refuses(_ json: String, _ code: ControlFailure.Code) {
        guard case .failure(let failure) = Self.parse(json) else {
            Issue.record("\(json) was accepted")
            return
        }
        #expect(failure.code == code, "\(json): \(failure.message)")
    }
}
