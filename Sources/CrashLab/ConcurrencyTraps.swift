import Dispatch

/// Traps inside Swift concurrency and on threads other than main. A trap anywhere kills the
/// whole process: there is no per-task containment.
@MainActor
enum ConcurrencyTraps {
    static func continuationResumedTwice() async {
        let value: Int = await withCheckedContinuation { continuation in
            continuation.resume(returning: 1)
            DyingStamp.now()
            continuation.resume(returning: Opaque.value(2))
        }
        Opaque.consume(value)
    }

    static func trapInTaskGroup(_ message: String) async {
        await withTaskGroup(of: Void.self) { group in
            // A healthy sibling: it must not matter, the whole process dies anyway.
            group.addTask { try? await Task.sleep(nanoseconds: 3_600_000_000_000) }
            group.addTask { RuntimeTraps.fatalError(message) }
            await group.waitForAll()
        }
    }

    static func trapInDetachedTask(_ message: String) -> Never {
        Task.detached { RuntimeTraps.fatalError(message) }
        Idle.forever()
    }

    static func trapInDispatch(_ message: String) -> Never {
        DispatchQueue.global().async { RuntimeTraps.fatalError(message) }
        Idle.forever()
    }
}

/// Thrown out of the top level by `throw-from-async-main`.
struct DeliberateTopLevelError: Error {
    let reason = "crashlab: deliberate error thrown out of async main"
}
