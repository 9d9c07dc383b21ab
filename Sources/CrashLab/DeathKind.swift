/// One way to die, chosen with `--die KIND`. The catalogue names every row of
/// shared/notes/swift-traps.md together with the death those notes predict.
enum DeathKind: Sendable, Equatable {
    case fatalError, precondition, assert
    case forceUnwrap, iuoNil, indexOutOfRange, dictDuplicateKey
    case overflowAdd, overflowSub, overflowMul, divideByZero, nanToInt, negativeToUInt, badRange
    case continuationTwice
    case assertIsolated, preconditionIsolated, assumeIsolated
    case assertIsolatedActor, preconditionIsolatedActor, assumeIsolatedActor
    case mainActorOnDispatch
    case throwFromAsyncMain
    case abort, exclusivity, unownedAfterFree
    case nullDeref, wildPointer, stackOverflow
    case libcDivideByZero, doubleFree
    case trapInTaskGroup, trapInDetachedTask, trapInDispatch
    /// Raises the signal on itself with its default disposition (`signal-BUS`, `signal-KILL`, …).
    case signal(Int32)

    struct Entry: Sendable {
        let name: String
        let kind: DeathKind
        /// What shared/notes/swift-traps.md predicts, for `--help`.
        let predicted: String
    }

    static let catalogue: [Entry] = [
        Entry(name: "fatal-error", kind: .fatalError, predicted: "SIGILL"),
        Entry(name: "precondition", kind: .precondition, predicted: "SIGILL"),
        Entry(name: "assert", kind: .assert, predicted: "SIGILL in debug; release: no trap, exit 99"),
        Entry(name: "force-unwrap", kind: .forceUnwrap, predicted: "SIGILL"),
        Entry(name: "iuo-nil", kind: .iuoNil, predicted: "SIGILL"),
        Entry(name: "index-out-of-range", kind: .indexOutOfRange, predicted: "SIGILL"),
        Entry(name: "dict-duplicate-key", kind: .dictDuplicateKey, predicted: "SIGILL"),
        Entry(name: "overflow-add", kind: .overflowAdd, predicted: "SIGILL"),
        Entry(name: "overflow-sub", kind: .overflowSub, predicted: "SIGILL"),
        Entry(name: "overflow-mul", kind: .overflowMul, predicted: "SIGILL"),
        Entry(name: "divide-by-zero", kind: .divideByZero, predicted: "SIGILL (Swift checks: never SIGFPE)"),
        Entry(name: "nan-to-int", kind: .nanToInt, predicted: "SIGILL"),
        Entry(name: "negative-to-uint", kind: .negativeToUInt, predicted: "SIGILL"),
        Entry(name: "bad-range", kind: .badRange, predicted: "SIGILL"),
        Entry(name: "continuation-twice", kind: .continuationTwice, predicted: "SIGILL"),
        Entry(name: "assert-isolated", kind: .assertIsolated, predicted: "SIGILL (MainActor checked off main)"),
        Entry(name: "precondition-isolated", kind: .preconditionIsolated, predicted: "SIGILL (MainActor checked off main)"),
        Entry(name: "assume-isolated", kind: .assumeIsolated, predicted: "SIGILL (MainActor checked off main)"),
        Entry(name: "assert-isolated-actor", kind: .assertIsolatedActor, predicted: "SIGABRT (a custom actor)"),
        Entry(name: "precondition-isolated-actor", kind: .preconditionIsolatedActor, predicted: "SIGABRT (a custom actor)"),
        Entry(name: "assume-isolated-actor", kind: .assumeIsolatedActor, predicted: "SIGABRT (a custom actor)"),
        Entry(name: "mainactor-on-dispatch", kind: .mainActorOnDispatch, predicted: "SIGILL"),
        Entry(name: "throw-from-async-main", kind: .throwFromAsyncMain, predicted: "SIGILL"),
        Entry(name: "abort", kind: .abort, predicted: "SIGABRT"),
        Entry(name: "exclusivity", kind: .exclusivity, predicted: "SIGABRT"),
        Entry(name: "unowned-after-free", kind: .unownedAfterFree, predicted: "SIGABRT"),
        Entry(name: "null-deref", kind: .nullDeref, predicted: "SIGSEGV"),
        Entry(name: "wild-pointer", kind: .wildPointer, predicted: "SIGSEGV (a high unmapped address)"),
        Entry(name: "stack-overflow", kind: .stackOverflow, predicted: "SIGSEGV"),
        Entry(name: "libc-divide-by-zero", kind: .libcDivideByZero, predicted: "SIGFPE (glibc div(): a real idiv)"),
        Entry(name: "double-free", kind: .doubleFree, predicted: "SIGABRT (glibc: free(): double free detected)"),
        Entry(name: "trap-in-taskgroup", kind: .trapInTaskGroup, predicted: "SIGILL (whole process)"),
        Entry(name: "trap-in-detached-task", kind: .trapInDetachedTask, predicted: "SIGILL (whole process)"),
        Entry(name: "trap-in-dispatch", kind: .trapInDispatch, predicted: "SIGILL (whole process)"),
    ]

    static func parse(_ text: String) -> DeathKind? {
        if text.hasPrefix("signal-") {
            return SignalNames.number(String(text.dropFirst("signal-".count))).map { .signal($0) }
        }
        return catalogue.first { $0.name == text }?.kind
    }

    var name: String {
        if case .signal(let number) = self { return "signal-\(SignalNames.name(number))" }
        return Self.catalogue.first { $0.kind == self }?.name ?? "?"
    }

    /// The default text of kinds that accept `--message`; nil for the others.
    var defaultMessage: String? {
        switch self {
        case .fatalError: "crashlab: deliberate fatalError"
        case .precondition: "crashlab: deliberate precondition failure"
        case .assert: "crashlab: deliberate assertion failure"
        case .trapInTaskGroup: "crashlab: deliberate fatalError in a TaskGroup child"
        case .trapInDetachedTask: "crashlab: deliberate fatalError in a detached Task"
        case .trapInDispatch: "crashlab: deliberate fatalError in a Dispatch block"
        default: nil
        }
    }

    var takesMessage: Bool { defaultMessage != nil }

    static var messageKindNames: String {
        catalogue.filter { $0.kind.takesMessage }.map(\.name).joined(separator: ", ")
    }
}
