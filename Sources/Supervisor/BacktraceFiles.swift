import BulkheadSystem

/// Where the Swift runtime backtracer leaves its report (SWIFT_BACKTRACE=format=json,
/// output-to=DIR): one file per crash, named after the pid, `DIR/<exe>-<pid>-<n>.json`. Read
/// after the worker was reaped (BulkheadForensics reads what is in it).
enum BacktraceFiles {
    /// The report of `pid`, removed from the directory (and any other of that pid); nil if the
    /// backtracer did not run.
    static func take(directory: String, pid: Int32) -> [UInt8]? {
        let names = FileSystem.list(directory).filter { isReport($0, of: pid) }
        defer { for name in names { FileSystem.remove(directory + "/" + name) } }
        guard let name = names.sorted().last else { return nil }
        return FileSystem.read(directory + "/" + name, limit: 64 << 20)
    }

    /// `<exe>-<pid>-<a>.<b>.json`, or `…-<a>.<b>-<n>.json` when that name was taken. The pid is
    /// matched in its place, not anywhere (an executable may have digits in its name).
    static func isReport(_ name: String, of pid: Int32) -> Bool {
        guard name.hasSuffix(".json") else { return false }
        let parts = name.dropLast(5).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return false }
        let isSuffix = { (part: Substring) in part.contains(".") && part.split(separator: ".").allSatisfy { Int($0) != nil } }
        if isSuffix(parts[parts.count - 1]) { return parts[parts.count - 2] == "\(pid)" }
        guard parts.count >= 4, Int(parts[parts.count - 1]) != nil, isSuffix(parts[parts.count - 2]) else { return false }
        return parts[parts.count - 3] == "\(pid)"
    }
}
