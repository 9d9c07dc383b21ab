@testable import Supervisor
import BulkheadJSON
import BulkheadPolicy
import Testing

/// The pieces of a re-exec's handoff that need no process: the blob, its lines, a carried
/// control conversation.
@Suite struct HandoffTests {
    @Test func linesGoAcrossAsTheirBytes() throws {
        var ring = LineRing(maxLines: 8, maxBytes: 4096)
        let texts: [[UInt8]] = [Array("first".utf8), [], [0xFF, 0xFE, 0x41], Array("last line".utf8)]
        for (n, text) in texts.enumerated() {
            text.withUnsafeBytes { ring.append($0, stream: n % 2 == 0 ? .stdout : .stderr, wallNanoseconds: Int64(n)) }
        }
        var bytes: [UInt8] = []
        HandoffLines.encode(ring, into: &bytes)
        var blob = HandoffBlob()
        let reference = blob.append(bytes)
        let lines = try #require(blob.slice(reference).flatMap(HandoffLines.decode))
        #expect(lines.map { Array($0.bytes) } == texts)
        #expect(lines.map(\.stream) == [.stdout, .stderr, .stdout, .stderr])
        #expect(lines.map(\.wallNanoseconds) == [0, 1, 2, 3])
    }

    @Test func aReferenceOutsideTheBlobNamesNothing() {
        var blob = HandoffBlob()
        _ = blob.append([1, 2, 3])
        #expect(blob.slice(.object([("at", .int(2)), ("len", .int(2))])) == nil)
        #expect(blob.slice(.object([("at", .int(-1)), ("len", .int(1))])) == nil)
        #expect(blob.slice(.object([("at", .int(Int64.max)), ("len", .int(Int64.max))])) == nil)
        #expect(blob.slice(nil) == nil)
        #expect(HandoffLines.decode([1, 0, 0]) == nil, "a cut line is refused")
    }

    @Test func aCarriedConversationGoesOnWhereItWas() {
        let now = Instant(nanoseconds: 1_000)
        var session = ControlSession(resuming: Array(#"{"v":1,"cmd":"pi"#.utf8), awaitingReply: false, now: now)
        #expect(session.state == .idle)
        #expect(!session.hasCompleteRequest)
        let rest = Array("ng\"}\n".utf8)
        _ = rest.withUnsafeBytes { session.received($0, now) }
        #expect(session.hasCompleteRequest)
        guard case .success(let request)? = session.takeRequest(now) else {
            Issue.record("the request begun before the exec was lost")
            return
        }
        #expect(request.command == "ping")
        let waiting = ControlSession(resuming: [UInt8](), awaitingReply: true, now: now)
        #expect(waiting.state == .executing, "the re-exec's caller waits for its answer")
    }
}
