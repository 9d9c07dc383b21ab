/// Which frames of a Swift backtrace are the program's own code, as opposed to the runtime, the
/// C library, Dispatch, compiler glue or standard-library code inlined into the program.
///
/// The backtracer's `system` flag alone is not enough: it also marks the program's own functions
/// when their location is line 0 (debug `RuntimeTraps.implicitlyUnwrappedNil()`, measured), and
/// it does not mark frames in `libswiftCore.so`. So a frame is the program's when it is not in a
/// runtime library, not glue, and either not `system` or, by its mangled name, from a module that
/// is not one of the toolchain's with a real source file.
///
/// A program linked with `--static-swift-stdlib` holds the runtime, the standard library and
/// Dispatch in its own image, unmarked; their frames have no source location (the toolchain's
/// static libraries carry no line tables), which tells them from the program's own code built
/// with `-g`, together with their names (`$ss17_assertionFailure…`, `swift_task_…`,
/// `_dispatch_assert_queue_fail`).
enum SwiftFrameRoles {
    static func isOwn(_ frame: SwiftBacktrace.Frame) -> Bool {
        if frame.runtimeFailure || frame.thunk || isRuntimeImage(frame.image) { return false }
        if frame.function.hasPrefix("thunk for ") || frame.function.hasPrefix("partial apply for ") { return false }
        if frame.file == nil && isLinkedInRuntime(frame.symbol) { return false }
        guard frame.system else { return true }
        guard let module = swiftModule(frame.symbol), !toolchainModules.contains(module) else { return false }
        return frame.file != nil
    }

    /// Shared objects of the Swift runtime, Foundation, Dispatch and the C runtime. A program's
    /// own shared libraries are not among them.
    static func isRuntimeImage(_ image: String?) -> Bool {
        guard let image else { return false }
        if image.hasPrefix("libswift") || image.hasPrefix("libFoundation") || image.hasPrefix("ld-linux") { return true }
        return runtimeImages.contains(image)
    }

    static let runtimeImages: Set<String> = [
        "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libdispatch.so", "libBlocksRuntime.so",
        "libstdc++.so.6", "libgcc_s.so.1", "libicuucswift.so", "libicui18nswift.so", "libicudataswift.so", "libXCTest.so",
        "libTesting.so", "libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1",
    ]

    /// A symbol of the Swift runtime, the standard library or Dispatch, by its name: what a
    /// statically linked program holds in its own image.
    static func isLinkedInRuntime(_ symbol: String?) -> Bool {
        guard let symbol else { return false }
        if let module = swiftModule(symbol) { return toolchainModules.contains(module) }
        if symbol.hasPrefix("_Z") { return symbol.contains("5swift") }   // C++ in namespace swift: the runtime
        return runtimeSymbolPrefixes.contains { symbol.hasPrefix($0) }
    }

    static let runtimeSymbolPrefixes = ["swift_", "_swift_", "swift::", "dispatch_", "_dispatch_", "_os_object", "_Block_"]

    /// Modules of the Swift toolchain whose code may be inlined or specialised into a program.
    static let toolchainModules: Set<String> = [
        "Swift", "_Concurrency", "_StringProcessing", "RegexBuilder", "Dispatch", "Foundation", "FoundationEssentials",
        "FoundationInternationalization", "FoundationNetworking", "Synchronization", "SwiftOnoneSupport", "Distributed",
        "Observation", "Glibc", "Musl", "Cxx", "CxxStdlib", "_Volatile", "_Differentiation", "XCTest", "Testing",
    ]

    /// The module a mangled Swift symbol belongs to: `$s8CrashLab…` → `CrashLab`; `$ss…` and the
    /// standard substitutions (`$sSa…` Array, `$sScM…` MainActor) → `Swift`; nil for C symbols
    /// and for Swift symbols that do not start with a module (reabstraction thunks, `$sI…`).
    static func swiftModule(_ symbol: String?) -> String? {
        guard let symbol else { return nil }
        var rest = Substring(symbol)
        if rest.hasPrefix("$s") || rest.hasPrefix("$S") {
            rest = rest.dropFirst(2)
        } else if rest.hasPrefix("_$s") {
            rest = rest.dropFirst(3)
        } else {
            return nil
        }
        if rest.hasPrefix("s") || rest.hasPrefix("S") { return "Swift" }
        let digits = rest.prefix { $0.isASCIIDigitCharacter }
        guard let length = Int(digits), length > 0 else { return nil }
        let name = rest.dropFirst(digits.count).prefix(length)
        return name.count == length ? String(name) : nil
    }

    /// A function whose body the optimiser merged with others of identical code (`…Tm`): its
    /// name is one of theirs, chosen by the compiler, and its location is not kept.
    static func isMerged(_ frame: SwiftBacktrace.Frame) -> Bool {
        frame.symbol?.hasSuffix("Tm") ?? false
    }
}
