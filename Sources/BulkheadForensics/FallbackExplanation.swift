import BulkheadPolicy

/// The explanation of a death no runtime explained (a C program, a stripped or static Swift
/// binary, the backtracer off, a plain exit): how it ended — the signal, read with the kernel's
/// fault line when there is one — and the last meaningful thing it wrote.
///
///     null pointer dereference in cworker (SIGSEGV); last output: segfault: storing through a null pointer
///     SIGILL (illegal instruction)
///     exit code 3; last output: config file /etc/app.yaml not found
enum FallbackExplanation {
    static func of(_ scene: DeathScene, kernel: KernelFaultLine?, lastLine: String?) -> CrashExplanation {
        var headline: String
        var kind: String?
        var basis: [String]
        var details: [(key: String, value: String)] = []
        switch scene.termination {
        case .signaled(let signal, _):
            basis = [FingerprintText.entry("how", SignalWords.name(signal))]
            if let kernel, kernel.signal == signal, let cause = cause(kernel) {
                // The headline says what the kernel saw; the fingerprint does not: the kernel
                // rate-limits these lines (a burst of 10, then one per 5 s), so in a crash loop
                // the same bug comes with and without one, and must hash the same either way.
                headline = cause.words + (kernel.image.map { " in \($0)" } ?? "") + " (\(SignalWords.name(signal)))"
                kind = cause.kind
                if case .segfault(let address) = kernel.fault {
                    details.append(("fault_address", FaultCause.hex(address)))
                }
                if let image = kernel.image { details.append(("faulting_image", image)) }
            } else {
                headline = SignalWords.described(signal)
            }
        case .exited(let code):
            headline = "exit code \(code)"
            basis = [FingerprintText.entry("how", "exit \(code)")]
        case .unknown:
            headline = "ended, exit status unknown (an adopted process, not bulkhead's child)"
            basis = [FingerprintText.entry("how", "unknown")]
        case .spawnFailed(let failure):
            // Nothing ran, so nothing was written: the failure says it all.
            let words = "spawn failed at \(failure.stage): \(failure.reason)"
            return CrashExplanation(headline: words, fingerprintBasis: [FingerprintText.entry("how", words)])
        }
        if let lastLine {
            headline += "; last output: " + lastLine
            basis.append(FingerprintText.entry("said", FingerprintText.masked(lastLine)))
        }
        return CrashExplanation(headline: headline, kind: kind, fingerprintBasis: basis, details: details)
    }

    /// What the kernel's line says happened.
    private static func cause(_ line: KernelFaultLine) -> FaultCause? {
        switch line.fault {
        case .segfault(let address):
            return FaultCause.of(address: address, stackPointer: line.stackPointer, nonCanonical: false, deepRecursion: false)
        case .generalProtection:
            return FaultCause.of(address: nil, stackPointer: nil, nonCanonical: true, deepRecursion: false)
        case .trap(let name):
            switch name {
            case "invalid opcode": return FaultCause(kind: "illegal instruction", words: "illegal instruction")
            case "divide error": return FaultCause(kind: "division fault", words: "integer division by zero or overflow")
            case "int3": return FaultCause(kind: "breakpoint trap", words: "breakpoint trap (int3)")
            default: return FaultCause(kind: "trap", words: "trap: " + name)
            }
        }
    }
}
