import BulkheadControl
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// One client of the control socket: what it has sent that is not handled yet, what is still
/// to be written to it, and the deadlines that keep a slow or silent client from holding on.
final class ControlConnection {
    /// A request read while the loop was mid-burst, waiting to be answered at the end of the turn.
    var deferred: ControlRequest?
    let id: Int
    let descriptor: FileDescriptor
    let peer: PeerCredentials
    var token: UInt64 = 0
    /// What epoll is asked to report for it now.
    var interest: Epoll.Interest = []

    // Input: request bytes not handled yet, from `inputStart`.
    private(set) var input: [UInt8] = []
    private var inputStart = 0
    /// Where the search for the next newline resumes (every byte is looked at once).
    private var scanned = 0
    /// The first byte of the request being received arrived then (slow-loris deadline).
    private(set) var requestStartedAt: Instant?
    /// The client shut down its side (or closed): no more requests will come.
    var inputClosed = false

    // Output: reply bytes not written yet, from `outputStart`, then what `source` makes.
    private(set) var output: [UInt8] = []
    private var outputStart = 0
    /// The rest of a reply made as the client reads (a crash report's file, `logs` lines).
    private(set) var source: ReplySource?
    /// `source` has nothing to add until told otherwise (a follower waiting for lines).
    private var sourceIdle = false
    /// Bytes written to the client since it connected.
    private(set) var written = 0
    /// What this connection has counted into `ledger`.
    private var accounted = 0
    let ledger: ReplyLedger
    /// Last time a write took bytes (or output was queued into an empty buffer).
    var lastProgress: Instant
    var lastActivity: Instant
    /// Close once everything queued is written (after a protocol error, or at end of input).
    private(set) var closeRequestedAt: Instant?
    /// Set when the connection is to go; the daemon drops it (and closes the fd) in `settle`.
    var closed = false

    /// `logs -f`: the instances it follows (their lines wake its reply source).
    var following: [InstanceID] = []

    init(id: Int, descriptor: FileDescriptor, peer: PeerCredentials, ledger: ReplyLedger, now: Instant) {
        self.id = id
        self.descriptor = descriptor
        self.peer = peer
        self.ledger = ledger
        lastProgress = now
        lastActivity = now
    }

    var isFollowing: Bool { !following.isEmpty }
    var closeWhenFlushed: Bool { closeRequestedAt != nil }
    var pendingBytes: Int { output.count - outputStart }
    var hasPendingOutput: Bool { outputStart < output.count || (source != nil && !sourceIdle) }
    /// All it has made is written, and its source has more to make.
    var waitsForRefill: Bool { outputStart == output.count && source != nil && !sourceIdle }
    var unhandledInput: Int { input.count - inputStart }

    // MARK: - Input

    func received(_ bytes: UnsafeRawBufferPointer, _ now: Instant) {
        if unhandledInput == 0 { requestStartedAt = now }
        input.append(contentsOf: bytes)
        lastActivity = now
    }

    /// The next newline at or after `inputStart`, found once and remembered.
    private var foundNewline: Int?

    private func nextNewline() -> Int? {
        if let found = foundNewline { return found }
        if let found = input[scanned...].firstIndex(of: 0x0A) {
            foundNewline = found
            return found
        }
        scanned = input.count
        return nil
    }

    /// A complete request is waiting (its newline has arrived).
    var hasCompleteLine: Bool { nextNewline() != nil }

    /// The bytes before the next newline handed to `body`, then removed with the newline.
    /// nil when no newline has arrived.
    func takeLine<R>(_ now: Instant, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard let newline = nextNewline() else { return nil }
        foundNewline = nil
        let result = input.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[inputStart..<newline])) }
        inputStart = newline + 1
        scanned = inputStart
        if inputStart == input.count {
            input.removeAll(keepingCapacity: input.capacity <= 128 << 10)
            inputStart = 0
            scanned = 0
            requestStartedAt = nil
        } else {
            // The rest is the start of the next request: its clock starts now at the latest.
            requestStartedAt = now
            if inputStart > 32 << 10 {
                input.removeFirst(inputStart)
                scanned -= inputStart
                inputStart = 0
            }
        }
        return result
    }

    /// The request being received (or the next complete one) is longer than `limit` bytes.
    func requestExceeds(_ limit: Int) -> Bool {
        if let newline = nextNewline() { return newline - inputStart > limit }
        return unhandledInput > limit
    }

    func discardInput() {
        input.removeAll()
        inputStart = 0
        scanned = 0
        foundNewline = nil
        requestStartedAt = nil
    }

    // MARK: - Output

    func queue(_ bytes: [UInt8], _ now: Instant) {
        if !hasPendingOutput { lastProgress = now }
        if output.isEmpty {
            output = bytes   // a 250 KiB status taken as it is, not copied
            outputStart = 0
        } else {
            output.append(contentsOf: bytes)
        }
        account()
    }

    /// The reply goes on from `source` once the bytes queued so far are written.
    func stream(_ source: ReplySource, _ now: Instant) {
        if !hasPendingOutput { lastProgress = now }
        self.source = source
        sourceIdle = false
    }

    /// Something a waiting source was waiting for happened (a followed instance wrote).
    func wake() {
        sourceIdle = false
    }

    private func account() {
        let pending = output.count - outputStart
        ledger.held += pending - accounted
        accounted = pending
    }

    func requestClose(_ now: Instant) {
        if closeRequestedAt == nil { closeRequestedAt = now }
        discardInput()
    }

    /// Writes what it can without blocking, at most `budget` bytes (one turn's share), asking
    /// its source for more only if `mayRefill` (making a reply costs the loop; writing one
    /// already made costs a syscall). Returns false when the peer is gone.
    func flush(budget: Int, mayRefill: () -> Bool, _ now: Instant) -> Bool {
        defer { account() }
        var left = budget
        var refills = 0
        while left > 0 {
            if outputStart == output.count {
                guard let source, !sourceIdle, refills < Self.refillsPerFlush, mayRefill() else { break }
                refills += 1
                output.removeAll(keepingCapacity: true)
                outputStart = 0
                switch source.refill(into: &output) {
                case .more: break
                case .idle: sourceIdle = true
                case .done: self.source = nil
                }
                if output.isEmpty { continue }
            }
            let sent: Int
            do {
                sent = try output.withUnsafeBytes { raw throws(SystemError) -> Int in
                    let end = min(raw.count, outputStart + left)
                    return try UnixStream.sendSome(descriptor, UnsafeRawBufferPointer(rebasing: raw[outputStart..<end]))
                }
            } catch {
                return false   // EPIPE, ECONNRESET: the client is gone
            }
            if sent == 0 { break }
            outputStart += sent
            left -= sent
            written += sent
            lastProgress = now
            lastActivity = now
        }
        if outputStart == output.count {
            output.removeAll(keepingCapacity: output.capacity <= 256 << 10)
            outputStart = 0
        } else if outputStart > 256 << 10 {
            output.removeFirst(outputStart)
            outputStart = 0
        }
        return true
    }

    /// Chunks a source may make per turn: its work (a selection over many rings, encoding)
    /// is spread over turns like the writing.
    static let refillsPerFlush = 8

    // MARK: - Deadlines

    static let closingGrace: Duration = .seconds(2)
    /// Output pending and none of it taken for this long: the client does not read.
    static let stallTimeout: Duration = .seconds(30)

    /// When this connection must be looked at again.
    var deadline: Instant? {
        if let closing = closeRequestedAt { return closing + Self.closingGrace }
        if hasPendingOutput { return lastProgress + Self.stallTimeout }
        if isFollowing { return nil }
        if let started = requestStartedAt { return started + ControlProtocol.requestDeadline }
        if inputClosed { return nil }
        return lastActivity + ControlProtocol.idleTimeout
    }

    /// Marks it gone; the daemon unregisters and closes the fd when it drops it.
    func close() {
        source?.close()
        source = nil
        closed = true
        output = []
        outputStart = 0
        account()
    }
}

/// A crash report streamed from its file into a reply, a chunk at a time, with the pretty
/// file's newlines taken out so the reply stays one line. (Our writer escapes newlines inside
/// strings, so every raw newline in the file is whitespace between tokens.)
final class ReplyFile: ReplySource {
    private var descriptor: FileDescriptor?
    private var remaining: Int
    private let suffix: [UInt8]
    static let chunk = 64 << 10

    init(descriptor: FileDescriptor, limit: Int, suffix: [UInt8]) {
        self.descriptor = descriptor
        self.remaining = limit
        self.suffix = suffix
    }

    /// Appends the next chunk (or, at the end, the suffix).
    func refill(into output: inout [UInt8]) -> ReplyProgress {
        guard let fd = descriptor else { return .done }
        var buffer = [UInt8](repeating: 0, count: min(Self.chunk, max(remaining, 0)))
        let n = buffer.isEmpty ? 0 : buffer.withUnsafeMutableBytes { raw in
            (try? fd.read(into: raw)).flatMap { $0 } ?? 0
        }
        if n > 0 {
            remaining -= n
            for byte in buffer[0..<n] where byte != 0x0A && byte != 0x0D {
                output.append(byte)
            }
            return .more
        }
        output.append(contentsOf: suffix)
        close()
        return .done
    }

    func close() {
        descriptor?.close()
        descriptor = nil
    }
}

/// The bytes all control connections hold for their clients, together: a thousand clients that
/// ask and never read cannot make the daemon hold more than `ControlServer.heldBytesBudget`.
final class ReplyLedger {
    var held = 0
}
