/// The report's `details`: facts behind the headline that a person may want and a program may
/// key on (`fault_address`, `coredump`), whichever evidence the headline came from.
enum EvidenceDetails {
    static func of(_ scene: DeathScene, evidence: SwiftEvidence, kernel: KernelFaultLine?,
                   alreadyGiven: [String]) -> [(key: String, value: String)] {
        var details: [(key: String, value: String)] = []
        func add(_ key: String, _ value: String) {
            guard !alreadyGiven.contains(key), !details.contains(where: { $0.key == key }) else { return }
            details.append((key, value))
        }
        if let backtrace = evidence.backtrace {
            if let description = backtrace.description { add("backtrace_description", description) }
            if evidence.backtraceIsCause, let thread = backtrace.crashedThread {
                if let runtimeFailure = backtrace.runtimeFailure { add("runtime_failure", runtimeFailure) }
                if let signal = evidence.signal, signal == SignalWords.segmentationFault || signal == SignalWords.busError, let address = backtrace.faultAddress {
                    add("fault_address", FaultCause.hex(address))
                }
                if let name = thread.name { add("crashed_thread", name) }
                add("thread_count", "\(backtrace.threads.count)")
                if thread.omittedFrames > 0 { add("omitted_frames", "\(thread.omittedFrames)") }
            } else if backtrace.description == "Terminated" {
                add("backtrace", "a thread dump (SIGQUIT), not the cause of death")
            } else {
                add("backtrace", "a report of a signal the process did not die of")
            }
        }
        if let kernel {
            if case .segfault(let address) = kernel.fault { add("fault_address", FaultCause.hex(address)) }
            if let image = kernel.image { add("faulting_image", image) }
        }
        if case .signaled(_, coreDumped: true) = scene.termination {
            switch scene.coreDump {
            case .coredumpctl?: if let pid = scene.pid { add("coredump", "coredumpctl info \(pid)") }
            case .file(let path)?: add("coredump", path)
            case nil: break
            }
        }
        return details
    }
}
