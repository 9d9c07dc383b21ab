import Dispatch

/// Actor-isolation checks failing at run time. Two families die differently (measured):
/// a check against the **main actor** made on another thread goes through libdispatch's
/// dispatch_assert_queue and dies by SIGILL in every build (even `assertIsolated` in release);
/// a check against a **custom actor** reports "Incorrect actor executor assumption" and aborts
/// (SIGABRT).
enum IsolationTraps {
    enum Check: Sendable {
        case assert, precondition, assume
    }

    /// `assert-isolated`, `precondition-isolated`, `assume-isolated`: synchronous code that
    /// believes it runs on the main actor, called from a Dispatch worker thread.
    @MainActor
    static func mainActorCheckOffMain(_ check: Check) -> Never {
        DispatchQueue.global().async { checkMainActor(check) }
        Idle.forever()
    }

    private static func checkMainActor(_ check: Check) {
        DyingStamp.now()
        switch check {
        case .assert: MainActor.assertIsolated("crashlab: deliberate MainActor.assertIsolated failure")
        case .precondition: MainActor.preconditionIsolated("crashlab: deliberate MainActor.preconditionIsolated failure")
        case .assume: MainActor.assumeIsolated { mainActorCounter += 1 }
        }
    }

    /// `*-isolated-actor`: the same checks against an actor of our own, made on the main actor.
    @MainActor
    static func customActorCheck(_ check: Check) {
        let vault = Vault()
        DyingStamp.now()
        switch check {
        case .assert: vault.assertIsolated("crashlab: deliberate assertIsolated failure")
        case .precondition: vault.preconditionIsolated("crashlab: deliberate preconditionIsolated failure")
        case .assume: vault.assumeIsolated { $0.count += 1 }
        }
    }

    /// `mainactor-on-dispatch`: the work item's closure is formed on the main actor and is not
    /// `@Sendable`, so Swift 6 infers it `@MainActor` and checks that at its entry. Dispatch
    /// runs it on a global-queue thread, where the inserted check traps.
    @MainActor
    static func mainActorClosureOnDispatch() -> Never {
        let item = DispatchWorkItem { mainActorCounter += 1 }
        DyingStamp.now()
        DispatchQueue.global().async(execute: item)
        Idle.forever()
    }

    @MainActor private static var mainActorCounter = 0

    private actor Vault {
        var count = 0
    }
}
