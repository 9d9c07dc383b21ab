import Glibc

// `bulkhead-fuzz TARGET [libFuzzer flags…] [CORPUS_DIR…]` (scripts/fuzz runs it; Fuzz/README.md).
// libFuzzer's own `main` runs; it calls these two.

/// Takes the target's name out of the arguments before libFuzzer reads them. The name is also
/// read from BULKHEAD_FUZZ_TARGET, set here for the children libFuzzer starts itself (-fork,
/// -merge): they get the flags back, not the name.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> Int32 {
    if let name = getenv("BULKHEAD_FUZZ_TARGET").map({ String(cString: $0) }), FuzzTargets.all[name] != nil {
        FuzzTargets.select(name)
        return 0
    }
    let args = argv.pointee
    if argc.pointee >= 2, let first = args[1], FuzzTargets.all[String(cString: first)] != nil {
        let name = String(cString: first)
        FuzzTargets.select(name)
        setenv("BULKHEAD_FUZZ_TARGET", name, 1)
        // Shift the rest (and the terminating NULL) down over the name.
        for i in 1..<Int(argc.pointee) { args[i] = args[i + 1] }
        argc.pointee -= 1
        return 0
    }
    let names = FuzzTargets.all.keys.sorted().joined(separator: " ")
    print("usage: bulkhead-fuzz TARGET [libFuzzer flags…] [CORPUS_DIR…]\ntargets: \(names)")
    exit(2)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
