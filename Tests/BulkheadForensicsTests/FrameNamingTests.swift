import Testing
@testable import BulkheadForensics

/// Which frames are the program's, and how their names read.
@Suite struct FrameNamingTests {
    @Test func optimiserWordsLeaveFunctionNames() {
        #expect(FunctionName.readable("specialized static RuntimeTraps.overflowAdd()") == "RuntimeTraps.overflowAdd()")
        #expect(FunctionName.readable("closure #2 in closure #1 in static ConcurrencyTraps.trapInTaskGroup(_:)")
            == "closure #2 in closure #1 in ConcurrencyTraps.trapInTaskGroup(_:)")
        #expect(FunctionName.readable("generic specialization <Swift.Int> of static Foo.bar<A>(_:)") == "Foo.bar<A>(_:)")
        #expect(FunctionName.readable("Lab.run()") == "Lab.run()")
        #expect(FunctionName.readable("div") == "div")
    }

    @Test func modulesOfMangledNames() {
        #expect(SwiftFrameRoles.swiftModule("$s8CrashLab12RuntimeTrapsO10fatalErrorys5NeverOSSFZ") == "CrashLab")
        #expect(SwiftFrameRoles.swiftModule("$ss17_assertionFailure__4file4line5flagss5NeverOs12StaticStringV_SSAHSus6UInt32VtF") == "Swift")
        #expect(SwiftFrameRoles.swiftModule("$sSayxSicigSi_Tg5") == "Swift")
        #expect(SwiftFrameRoles.swiftModule("$sIetH_yts5Error_pIegHrzo_TRTQ0_") == nil)
        #expect(SwiftFrameRoles.swiftModule("__pthread_kill_implementation") == nil)
        #expect(SwiftFrameRoles.swiftModule("$s99Short") == nil)
        #expect(SwiftFrameRoles.swiftModule(nil) == nil)
    }

    @Test func ownFrames() {
        typealias Frame = SwiftBacktrace.Frame
        // The program's function at line 0 is still the program's (debug `iuo-nil`)...
        #expect(SwiftFrameRoles.isOwn(Frame(function: "static RuntimeTraps.implicitlyUnwrappedNil()",
                                            symbol: "$s8CrashLab12RuntimeTrapsO22implicitlyUnwrappedNilyyFZ", image: "crashlab",
                                            file: "/w/RuntimeTraps.swift", system: true)))
        // ...but standard-library code inlined into it is not, nor compiler glue, nor libraries.
        #expect(!SwiftFrameRoles.isOwn(Frame(function: "specialized Array.subscript.getter", symbol: "$sSayxSicigSi_Tg5",
                                             image: "crashlab", inlined: true, system: true)))
        #expect(!SwiftFrameRoles.isOwn(Frame(function: "async_MainTQ0_", symbol: "async_MainTQ0_", image: "crashlab", system: true)))
        #expect(!SwiftFrameRoles.isOwn(Frame(function: "partial apply for closure #1 in f()", image: "crashlab")))
        #expect(!SwiftFrameRoles.isOwn(Frame(function: "div", symbol: "div", image: "libc.so.6")))
        #expect(!SwiftFrameRoles.isOwn(Frame(function: "specialized Array.subscript.getter", image: "libswiftSwiftOnoneSupport.so")))
        #expect(SwiftFrameRoles.isOwn(Frame(function: "handle(request:)", image: "libMyService.so")))
    }

    @Test func aMergedFunctionIsNamedByItsCaller() throws {
        // Release `wild-pointer`: its body was merged with `nullDereference`'s (`…Tm`), and the
        // inlined frame at the call site says which of them ran.
        let report = try #require(CrashFixtures.read(CrashFixtures.swiftCrashes + "/release/wild-pointer.json").flatMap(SwiftBacktraceJSON.parse))
        let frames = try #require(report.crashedThread?.frames)
        #expect(frames[0].function == "specialized static MemoryFaults.nullDereference()")
        #expect(SwiftFrameRoles.isMerged(frames[0]))
        let found = try #require(SwiftCrashSite.innermost(frames))
        #expect(found.site == CrashSite(function: "MemoryFaults.wildPointerStore()"))
    }

    @Test func theRecursionNotTheInnermostFrameNamesAStackOverflow() throws {
        let report = try #require(CrashFixtures.read(CrashFixtures.swiftCrashes + "/debug/stack-overflow.json").flatMap(SwiftBacktraceJSON.parse))
        let frames = try #require(report.crashedThread?.frames)
        #expect(SwiftCrashSite.innermost(frames)?.site.function == "Opaque.value<A>(_:)")   // where the stack ran out
        #expect(SwiftCrashSite.recursion(frames) == CrashSite(function: "MemoryFaults.recurse(_:)", file: "MemoryFaults.swift", line: 89))
    }

    @Test func checksNamedOnlyFromEvidence() {
        typealias Frame = SwiftBacktrace.Frame
        let none = SwiftBacktrace(description: "Illegal instruction", faultAddress: nil, threads: [])
        #expect(SwiftTrapCheck.name(none, trapFrames: [Frame(function: "specialized Array.subscript.getter")][...]) == "Index out of range")
        #expect(SwiftTrapCheck.name(none, trapFrames: [Frame(function: "_diagnoseUnexpectedNilOptional(_filenameStart:)")][...])
            == "Unexpectedly found nil while unwrapping an Optional value")
        #expect(SwiftTrapCheck.name(none, trapFrames: [Frame(function: "_dispatch_assert_queue_fail")][...])
            == "dispatch queue assertion failed (dispatchPrecondition)")
        #expect(SwiftTrapCheck.name(none, trapFrames: [Frame(function: "specialized static RuntimeTraps.forceUnwrap()")][...]) == nil)
        #expect(SwiftTrapCheck.name(none, trapFrames: [][...]) == nil)
    }
}
