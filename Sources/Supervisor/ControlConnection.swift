import BulkheadControl
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// One client of the control socket, as the mechanism sees it: its fd and what epoll watches
/// for it, the bytes of replies not written yet (and the source that makes the rest), and its
/// `ControlSession`, which decides everything else.
final class ControlConnection {
    let id: Int
    let descriptor: FileDescriptor
    let peer: PeerCredentials
    var token: UInt64 = 0
    /// What epoll is asked to report for it now.
    var interest: Epoll.Interest = []
    var session: ControlSession
    /// `logs -f`: the instances it follows (their lines wake its reply source).
    var following: [InstanceID] = []
    /// `events -f`: every new event wakes its reply source.
    var followsEvents = false

    // Reply bytes not written yet, from `outputStart`, then what `source` makes.
    private var output: [UInt8] = []
    private var outputStart = 0
    /// The rest of a reply made as the client reads (a crash report's file, `logs` lines).
    private var source: ReplySource?
    /// `source` has nothing to add until told otherwise (a follower waiting for lines).
    private var sourceIdle = false
    /// Bytes written to the client since it connected.
    private(set) var written = 0
    /// What this connection has counted into `ledger`.
    private var accounted = 0
    private let ledger: ReplyLedger
    /// A `crash ID` whose report was still being written: the reply waits for it.
    var awaitedReport: String?

    /// Chunks a source may make per flush: its work is spread over turns like the writing.
    static let refillsPerFlush = 8

    init(id: Int, descriptor: FileDescriptor, peer: PeerCredentials, ledger: ReplyLedger, now: Instant) {
        self.id = id
        self.descriptor = descriptor
        self.peer = peer
        self.ledger = ledger
        session = ControlSession(now: now)
    }

    var isClosed: Bool { session.state == .closed }
    var pendingBytes: Int { output.count - outputStart }
    var hasPendingOutput: Bool { outputStart < output.count || (source != nil && !sourceIdle) }
    /// All it has made is written, and its source has more to make.
    var waitsForRefill: Bool { outputStart == output.count && source != nil && !sourceIdle }

    /// One read of at most `buffer.count` bytes: the bytes, [] at end of input, nil when none
    /// were waiting; throws when the peer is gone.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> UnsafeRawBufferPointer? {
        guard let n = try descriptor.read(into: buffer) else { return nil }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<n])
    }

    func queue(_ bytes: [UInt8]) {
        if output.isEmpty {
            output = bytes   // a 250 KiB status taken as it is, not copied
            outputStart = 0
        } else {
            output.append(contentsOf: bytes)
        }
        account()
    }

    /// The reply goes on from `source` once the bytes queued so far are written.
    func stream(_ source: ReplySource) {
        self.source = source
        sourceIdle = false
    }

    /// Something a waiting source was waiting for happened (a followed instance wrote).
    func wake() {
        sourceIdle = false
    }

    /// Writes what it can without blocking, at most `budget` bytes (one turn's share), asking
    /// its source for more only while `mayRefill` (making a reply costs the loop; writing one
    /// already made costs a syscall). Returns false when the peer is gone.
    func flush(budget: Int, mayRefill: () -> Bool) -> Bool {
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

    /// Releases what it holds; the server unregisters and closes the fd.
    func release() {
        source?.close()
        source = nil
        output = []
        outputStart = 0
        account()
    }

    private func account() {
        let pending = output.count - outputStart
        ledger.held += pending - accounted
        accounted = pending
    }
}

/// The bytes all control connections hold for their clients, together: a thousand clients that
/// ask and never read cannot make the daemon hold more than `ControlServer.heldBytesBudget`.
final class ReplyLedger {
    var held = 0
}

/// A crash report streamed from its file into a reply, a chunk at a time, with the pretty
/// file's newlines taken out so the reply stays one line. (Our writer escapes newlines inside
/// strings, so every raw newline in the file is whitespace between tokens.)
final class ReplyFile: ReplySource {
    private var descriptor: FileDescriptor?
    private var remaining: Int
    private let suffix: [UInt8]

    init(descriptor: FileDescriptor, limit: Int, suffix: [UInt8]) {
        self.descriptor = descriptor
        self.remaining = limit
        self.suffix = suffix
    }

    /// Appends the next chunk (or, at the end, the suffix).
    func refill(into output: inout [UInt8]) -> ReplyProgress {
        guard let fd = descriptor else { return .done }
        var buffer = [UInt8](repeating: 0, count: min(ReplyChunk.bytes, max(remaining, 0)))
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
