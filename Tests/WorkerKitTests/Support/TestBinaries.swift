import Glibc

/// Finds executables SwiftPM built next to the test bundle: the directory of /proc/self/exe
/// (the test runner lives in the build's `debug` folder), else the `debug` folder found by
/// walking up from it.
enum TestBinaries {
    static func path(of name: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw TestFailure("cannot read /proc/self/exe") }
        let exe = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
        var candidates: [String] = []
        while !directory.isEmpty {
            candidates.append(directory + "/" + name)
            candidates.append(directory + "/debug/" + name)
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
        }
        for candidate in candidates where access(candidate, X_OK) == 0 {
            return candidate
        }
        throw TestFailure("\(name) not found near \(exe); build it first (swift build --product \(name))")
    }
}
