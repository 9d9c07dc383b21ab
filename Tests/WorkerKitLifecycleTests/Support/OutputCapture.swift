import Glibc
import Synchronization

@testable import WorkerKit

/// A child's stdout and stderr, read from a pipe by a thread of its own until EOF. Tests wait
/// for a piece of text to appear, with a deadline.
final class OutputCapture: Sendable {
    private struct Waiter {
        var needle: String
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var bytes: [UInt8] = []
        var closed = false
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Takes ownership of `readFD`.
    init(readFD: Int32) {
        PosixThread.start(name: "test-output") { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(readFD, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                append(buffer[0..<count])
            }
            close(readFD)
            finish()
        }
    }

    /// Everything read so far.
    var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }

    /// True once `needle` has appeared in the output; false when the deadline passes or the
    /// output ends without it.
    func waitFor(_ needle: String, within seconds: Double = 30) async -> Bool {
        let limit = deadline(in: seconds)
        return await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                if String(decoding: state.bytes, as: UTF8.self).contains(needle) || state.closed { return nil }
                state.nextID += 1
                state.waiters[state.nextID] = Waiter(needle: needle, continuation: continuation)
                return state.nextID
            }
            guard let id else {
                continuation.resume(returning: text.contains(needle))
                return
            }
            Task {
                let current = now()
                try? await Task.sleep(for: .nanoseconds(limit > current ? limit - current : 0))
                state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(returning: false)
            }
        }
    }

    private func append(_ chunk: ArraySlice<UInt8>) {
        let satisfied = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.bytes.append(contentsOf: chunk)
            let text = String(decoding: state.bytes, as: UTF8.self)
            let done = state.waiters.filter { text.contains($0.value.needle) }
            for id in done.keys { state.waiters[id] = nil }
            return done.values.map(\.continuation)
        }
        satisfied.forEach { $0.resume(returning: true) }
    }

    private func finish() {
        let waiting = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.closed = true
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        waiting.forEach { $0.resume(returning: false) }
    }
}
