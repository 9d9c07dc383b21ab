/// Where the kernel put a process's core dump, from its settings (`kernel.core_pattern` and
/// `kernel.core_uses_pid`, core(5)), for the report's `details.coredump`. Pure: the daemon reads
/// the settings when a death dumped core, and checks that a file it is pointed to exists.
public enum CoreDumpLocation: Equatable, Sendable {
    /// systemd-coredump took it: `coredumpctl info PID` shows it.
    case coredumpctl
    /// A file, absolute or relative to the process's working directory.
    case file(String)

    /// - Parameters:
    ///   - pattern: `/proc/sys/kernel/core_pattern`, without its newline.
    ///   - usesPID: `/proc/sys/kernel/core_uses_pid` is not 0.
    ///   - coredumpctlInstalled: `coredumpctl` is there to show what systemd-coredump kept.
    ///   - executable: the program as exec'd (its file name is the process's `comm`).
    ///   - workingDirectory: the process's, for a relative pattern.
    /// - Returns: nil when the core went to a handler other than systemd-coredump, or the name
    ///   holds something only the kernel knew (a thread id, the dump's time).
    public static func of(pattern: String, usesPID: Bool, coredumpctlInstalled: Bool, pid: Int32, signal: Int32,
                          executable: String, workingDirectory: String) -> CoreDumpLocation? {
        if pattern.hasPrefix("|") {
            let handler = pattern.dropFirst().prefix { $0 != " " }
            return handler.hasSuffix("/systemd-coredump") && coredumpctlInstalled ? .coredumpctl : nil
        }
        guard !pattern.isEmpty else { return nil }
        var name = ""
        var namesPID = false
        var characters = pattern.makeIterator()
        while let character = characters.next() {
            guard character == "%" else {
                name.append(character)
                continue
            }
            switch characters.next() {
            case "%": name.append("%")
            case "p", "P":
                // The pid in the dumping process's namespace and in the initial one: the same
                // number unless bulkhead runs in a pid namespace, where kernel lines are not read.
                name += "\(pid)"
                namesPID = true
            case "s": name += "\(signal)"
            case "e": name += comm(of: executable)
            case nil: break   // a lone % at the end is dropped
            default: return nil
            }
        }
        if usesPID && !namesPID { name += ".\(pid)" }
        guard !name.hasPrefix("/") else { return .file(name) }
        let directory = workingDirectory.hasSuffix("/") ? String(workingDirectory.dropLast()) : workingDirectory
        return .file(directory + "/" + name)
    }

    /// The kernel's `comm` of a freshly exec'd program: its file name, cut to 15 bytes.
    static func comm(of executable: String) -> String {
        let file = executable.split(separator: "/").last.map(String.init) ?? executable
        return String(decoding: file.utf8.prefix(15), as: UTF8.self)
    }
}
