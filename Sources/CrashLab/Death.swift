import Glibc

/// Performs one `--die KIND`. Returns only when the kind failed to end the process.
@MainActor
enum Death {
    static func perform(_ kind: DeathKind, message: String?) async throws {
        let message = message ?? kind.defaultMessage ?? ""
        switch kind {
        case .fatalError: RuntimeTraps.fatalError(message)
        case .precondition: RuntimeTraps.precondition(message)
        case .assert: RuntimeTraps.assert(message)
        case .forceUnwrap: RuntimeTraps.forceUnwrap()
        case .iuoNil: RuntimeTraps.implicitlyUnwrappedNil()
        case .indexOutOfRange: RuntimeTraps.indexOutOfRange()
        case .dictDuplicateKey: RuntimeTraps.duplicateDictionaryKey()
        case .overflowAdd: RuntimeTraps.overflowAdd()
        case .overflowSub: RuntimeTraps.overflowSub()
        case .overflowMul: RuntimeTraps.overflowMul()
        case .divideByZero: RuntimeTraps.divideByZero()
        case .nanToInt: RuntimeTraps.nanToInt()
        case .negativeToUInt: RuntimeTraps.negativeToUInt()
        case .badRange: RuntimeTraps.badRange()
        case .continuationTwice: await ConcurrencyTraps.continuationResumedTwice()
        case .assertIsolated: IsolationTraps.mainActorCheckOffMain(.assert)
        case .preconditionIsolated: IsolationTraps.mainActorCheckOffMain(.precondition)
        case .assumeIsolated: IsolationTraps.mainActorCheckOffMain(.assume)
        case .assertIsolatedActor: IsolationTraps.customActorCheck(.assert)
        case .preconditionIsolatedActor: IsolationTraps.customActorCheck(.precondition)
        case .assumeIsolatedActor: IsolationTraps.customActorCheck(.assume)
        case .mainActorOnDispatch: IsolationTraps.mainActorClosureOnDispatch()
        case .throwFromAsyncMain:
            DyingStamp.now()
            throw DeliberateTopLevelError()
        case .abort: MemoryFaults.abort()
        case .exclusivity: MemoryFaults.exclusivityViolation()
        case .unownedAfterFree: MemoryFaults.unownedReadAfterFree()
        case .nullDeref: MemoryFaults.nullDereference()
        case .wildPointer: MemoryFaults.wildPointerStore()
        case .libcDivideByZero: MemoryFaults.libcDivideByZero()
        case .doubleFree: MemoryFaults.doubleFree()
        case .stackOverflow: MemoryFaults.stackOverflow()
        case .trapInTaskGroup: await ConcurrencyTraps.trapInTaskGroup(message)
        case .trapInDetachedTask: ConcurrencyTraps.trapInDetachedTask(message)
        case .trapInDispatch: ConcurrencyTraps.trapInDispatch(message)
        case .signal(let number): SignalDeath.raise(number)
        }
    }
}
