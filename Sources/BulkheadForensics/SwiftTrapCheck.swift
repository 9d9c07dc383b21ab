/// Which runtime check a Swift trap (SIGILL/SIGTRAP) failed, when the evidence says so, and
/// nothing when it does not: release builds often leave no word of it (force-unwrap: a bare
/// `ud2` in the user's function, measured), and a guess would send people after the wrong bug.
enum SwiftTrapCheck {
    /// The runtime's own words (`runtimeFailure` frame or headline), else a name read from the
    /// frames between the trap and the program's own code (`trapFrames`): the stdlib function
    /// whose check it was, inlined or not.
    static func name(_ backtrace: SwiftBacktrace, trapFrames: ArraySlice<SwiftBacktrace.Frame>) -> String? {
        if let runtimeFailure = backtrace.runtimeFailure { return runtimeFailure }
        let functions = trapFrames.map(\.function)
        func any(_ words: [String]) -> Bool {
            functions.contains { function in words.contains { function.contains($0) } }
        }
        if any(["_dispatch_assert_queue_fail"]) {
            // The runtime asks Dispatch whether the caller is on the actor's queue (MainActor
            // checks off the main thread, and the checks Swift 6 inserts itself).
            if any(["swift_task_isCurrentExecutor", "swift_task_checkIsolated", "_swift_task_checkIsolated"]) {
                return "actor isolation check failed (not on the actor's queue)"
            }
            return "dispatch queue assertion failed (dispatchPrecondition)"
        }
        for (words, check) in checks where any(words) { return check }
        return nil
    }

    /// Frames that name the check they belong to, with the runtime's own wording of it (the
    /// message a debug build prints, so debug and release read alike).
    private static let checks: [(words: [String], check: String)] = [
        (["_diagnoseUnexpectedNilOptional"], "Unexpectedly found nil while unwrapping an Optional value"),
        (["Array.subscript", "ArraySlice.subscript", "ContiguousArray.subscript", "_checkSubscript", "_checkIndex",
          "_failEarlyRangeCheck"], "Index out of range"),
        (["Dictionary.init<A>(uniqueKeysWithValues:)", "Dictionary(uniqueKeysWithValues:)"], "Duplicate values for key"),
        (["swift_unexpectedError"], "'try!' expression unexpectedly raised an error"),
        (["swift_errorInMain"], "Error raised at top level"),
        (["swift_task_reportUnexpectedExecutor"], "Incorrect actor executor assumption"),
        (["_unimplementedInitializer"], "Use of unimplemented initializer"),
        (["swift_deletedMethodError"], "Call of deleted method"),
        (["swift_abortRetainUnowned", "swift_unknownObjectUnownedLoadStrong"], "Attempted to read an unowned reference"),
        (["_assertionFailure", "_fatalErrorMessage", "_preconditionFailure"], "fatal error (its message was not captured)"),
    ]
}
