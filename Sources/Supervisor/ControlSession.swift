import BulkheadControl
import BulkheadPolicy

/// One control client's conversation, as a state machine in the style of the policy: a value
/// fed events with the time they happened, answering what the connection must do. It frames
/// requests (one JSON line each, capped), serves them one at a time (the next only once the
/// previous reply is written), and keeps the deadlines that stop a slow, silent or hostile
/// client from holding on. No fd, no syscall: `ControlConnection` reads, writes and closes.
struct ControlSession {
    enum State: Equatable {
        /// No request in flight; waiting for one.
        case idle
        /// A request was handed out and its reply is not queued yet (`crash` waiting for its
        /// report to be written).
        case executing
        /// The reply is being written.
        case replying
        /// `logs -f`: lines go out until the client leaves; what it sends is ignored.
        case following
        /// Everything queued goes out, then the connection closes (after an error, at the end
        /// of input); at most `closingGrace` after `since`.
        case closing(since: Instant)
        case closed
    }

    enum Action: Equatable {
        /// Answer with this error; close afterwards when `close`.
        case fail(ControlFailure, close: Bool)
        case close
    }

    private(set) var state: State = .idle
    // Request bytes not handled yet, from `inputStart`.
    private var input: [UInt8] = []
    private var inputStart = 0
    /// The next newline at or after `inputStart`: each byte is looked at once, when it arrives
    /// or when the request before it is consumed.
    private var foundNewline: Int?
    /// The first byte of the request being received arrived then (slow-loris deadline).
    private(set) var requestStartedAt: Instant?
    /// The client shut its side: no more requests will come.
    private(set) var inputEnded = false
    private var lastActivity: Instant
    /// Output was queued or written then (a reply not taken for `stallTimeout`: not reading).
    private var lastProgress: Instant

    static let closingGrace: Duration = .seconds(2)
    /// Output pending and none of it taken for this long: the client does not read.
    static let stallTimeout: Duration = .seconds(30)
    /// The same for a follower (`logs -f`, `events -f`): one that stops reading holds only a
    /// chunk (its stream is read from the daemon's rings, which it falls behind and is told
    /// `lost`), so it may pause for a while (a pager, a suspended terminal) and go on.
    static let followerStallTimeout: Duration = .seconds(300)

    init(now: Instant) {
        lastActivity = now
        lastProgress = now
    }

    /// A conversation carried across a re-exec: the request bytes not handled yet come along,
    /// and a client whose request was the re-exec itself waits for its answer (`executing`).
    init(resuming unhandled: some Collection<UInt8>, awaitingReply: Bool, now: Instant) {
        self.init(now: now)
        if !unhandled.isEmpty {
            input = Array(unhandled)
            requestStartedAt = now
            foundNewline = input.firstIndex(of: 0x0A)
        }
        if awaitingReply { state = .executing }
    }

    /// The request bytes received and not handled yet.
    var unhandledBytes: ArraySlice<UInt8> { input[inputStart...] }

    // MARK: - What the connection asks

    /// Read more: a request may come, and one read is all a client gets while a complete
    /// request already waits (what a client can make us hold is one request plus one read).
    var wantsInput: Bool {
        switch state {
        case .idle, .executing, .replying: return !inputEnded && !hasCompleteRequest
        case .following: return !inputEnded   // read and dropped: to see the client leave
        case .closing, .closed: return false
        }
    }

    var hasCompleteRequest: Bool { foundNewline != nil }

    var unhandledInput: Int { input.count - inputStart }

    // MARK: - Events

    /// Bytes arrived. A request longer than `ControlProtocol.maxRequestBytes` is refused.
    mutating func received(_ bytes: UnsafeRawBufferPointer, _ now: Instant) -> [Action] {
        lastActivity = now
        switch state {
        case .following:
            return []   // a follower has nothing more to ask: ignored
        case .closing, .closed:
            return []
        case .idle, .executing, .replying:
            if unhandledInput == 0 { requestStartedAt = now }
            let searchFrom = input.count
            input.append(contentsOf: bytes)
            if foundNewline == nil { foundNewline = input[searchFrom...].firstIndex(of: 0x0A) }
            if requestExceeds(ControlProtocol.maxRequestBytes) { return refuseTooLarge(now) }
            return []
        }
    }

    /// The client shut down its side (read returned 0).
    mutating func inputClosed(_ now: Instant) -> [Action] {
        inputEnded = true
        switch state {
        case .idle where !hasCompleteRequest:
            if unhandledInput > 0 {
                return fail(ControlFailure(.badRequest, "the request ended without its newline (truncated); end every request with \\n"), now)
            }
            return closeWhenFlushed(now)
        case .idle, .executing, .replying, .following, .closing, .closed:
            return []   // the request in hand is answered first (see `replyWritten`)
        }
    }

    /// The next complete request, if one may be served now: parsed, or the reason it cannot be
    /// (the connection is then closed after the error, as the protocol says).
    mutating func takeRequest(_ now: Instant) -> Result<ControlRequest, ControlFailure>? {
        guard state == .idle, let newline = foundNewline else { return nil }
        if newline - inputStart > ControlProtocol.maxRequestBytes {
            state = .closing(since: now)
            return .failure(Self.tooLarge)
        }
        let parsed = input.withUnsafeBytes { ControlRequest.parse(UnsafeRawBufferPointer(rebasing: $0[inputStart..<newline])) }
        consume(through: newline, now)
        switch parsed {
        case .success: state = .executing
        case .failure: state = .closing(since: now)
        }
        return parsed
    }

    /// The reply to the request taken is queued (`follow`: then its lines, for good).
    mutating func replyQueued(follow: Bool, _ now: Instant) {
        guard state == .executing else { return }
        lastProgress = now
        state = follow ? .following : .replying
    }

    /// Some output was written.
    mutating func wrote(_ now: Instant) {
        lastProgress = now
        lastActivity = now
    }

    /// Everything queued is written.
    mutating func replyWritten(_ now: Instant) -> [Action] {
        switch state {
        case .replying:
            state = .idle
            if inputEnded && !hasCompleteRequest {
                return unhandledInput > 0
                    ? fail(ControlFailure(.badRequest, "the request ended without its newline (truncated); end every request with \\n"), now)
                    : closeWhenFlushed(now)
            }
            return []
        case .closing:
            state = .closed
            return [.close]
        case .idle, .executing, .following, .closed:
            return []
        }
    }

    /// The client is gone (a write failed, or it hung up with nothing left to say).
    mutating func peerGone() -> [Action] {
        guard state != .closed else { return [] }
        state = .closed
        return [.close]
    }

    /// When the connection must be looked at again (nil: only when something happens).
    func deadline(hasPendingOutput: Bool) -> Instant? {
        switch state {
        case .closing(let since): return since + Self.closingGrace
        case .closed: return nil
        case .idle, .executing, .replying, .following:
            if hasPendingOutput { return lastProgress + (state == .following ? Self.followerStallTimeout : Self.stallTimeout) }
            if state == .following { return nil }
            if let started = requestStartedAt { return started + ControlProtocol.requestDeadline }
            if inputEnded { return nil }
            return lastActivity + ControlProtocol.idleTimeout
        }
    }

    /// A deadline passed: what to do about it.
    mutating func deadlinePassed(hasPendingOutput: Bool, _ now: Instant) -> [Action] {
        guard let deadline = deadline(hasPendingOutput: hasPendingOutput), deadline <= now else { return [] }
        switch state {
        case .closing:
            state = .closed
            return [.close]   // closing and not reading what is left
        case .closed:
            return []
        case .idle, .executing, .replying, .following:
            if hasPendingOutput {
                state = .closed
                return [.close]   // not reading at all
            }
            if requestStartedAt != nil {
                return fail(ControlFailure(.timeout, "the request was not finished within \(Units.format(ControlProtocol.requestDeadline)) of its first byte"), now)
            }
            state = .closed
            return [.close]   // idle
        }
    }

    /// The daemon stops: every client goes.
    mutating func shutdown() {
        state = .closed
    }

    // MARK: - Framing

    private static let tooLarge = ControlFailure(.tooLarge, "the request is longer than \(ControlProtocol.maxRequestBytes) bytes; bulkhead's requests are small JSON lines")

    private mutating func refuseTooLarge(_ now: Instant) -> [Action] {
        fail(Self.tooLarge, now)
    }

    private mutating func fail(_ failure: ControlFailure, _ now: Instant) -> [Action] {
        discardInput()
        state = .closing(since: now)
        return [.fail(failure, close: true)]
    }

    private mutating func closeWhenFlushed(_ now: Instant) -> [Action] {
        discardInput()
        state = .closing(since: now)
        return []
    }

    /// The request being received (or the next complete one) is longer than `limit` bytes.
    private func requestExceeds(_ limit: Int) -> Bool {
        if let newline = foundNewline { return newline - inputStart > limit }
        return unhandledInput > limit
    }

    /// The bytes up to and including `newline` are handled.
    private mutating func consume(through newline: Int, _ now: Instant) {
        inputStart = newline + 1
        if inputStart == input.count {
            input.removeAll(keepingCapacity: input.capacity <= 128 << 10)
            inputStart = 0
            foundNewline = nil
            requestStartedAt = nil
        } else {
            // The rest is the start of the next request: its clock starts now at the latest.
            requestStartedAt = now
            if inputStart > 32 << 10 {
                input.removeFirst(inputStart)
                inputStart = 0
            }
            foundNewline = input[inputStart...].firstIndex(of: 0x0A)
        }
    }

    private mutating func discardInput() {
        input.removeAll()
        inputStart = 0
        foundNewline = nil
        requestStartedAt = nil
    }
}
