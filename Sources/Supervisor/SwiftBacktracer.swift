import BulkheadSystem
import Glibc

/// The Swift runtime's crash reporter program, for workers that would otherwise have none.
///
/// A dynamically linked Swift program finds `swift-backtrace` beside the runtime it loads. A
/// program built with `--static-swift-stdlib` carries the runtime inside and looks beside
/// itself: where there is none (the usual case), it says `swift runtime: unable to locate
/// swift-backtrace; disabling backtracing.` and crashes with no report at all. Naming the
/// toolchain's statically linked `swift-backtrace-static` in `SWIFT_BACKTRACE`
/// (`swift-backtrace=PATH`) gives every worker one; a dynamic one then runs that instead of its
/// twin beside the runtime, the same program linked another way.
enum SwiftBacktracer {
    /// Looked for once, at start, in this order: beside bulkhead's own executable (where a
    /// package may put it), the toolchain of the `swift` on the daemon's PATH, then
    /// `/usr/libexec/swift/linux`; `swift-backtrace-static` before `swift-backtrace`.
    static func locate(path: String? = Environment.get("PATH"), ownExecutable: String? = FileSystem.resolvedPath("/proc/self/exe")) -> String? {
        var directories: [String] = []
        if let own = ownExecutable { directories.append(parent(own)) }
        for directory in (path ?? "").split(separator: ":") {
            if let swift = FileSystem.resolvedPath(directory + "/swift"), FileSystem.isExecutableFile(swift) {
                directories.append(parent(parent(swift)) + "/libexec/swift/linux")   // <toolchain>/usr/bin/swift
                break
            }
        }
        directories.append("/usr/libexec/swift/linux")
        for directory in directories {
            for name in ["swift-backtrace-static", "swift-backtrace"] where FileSystem.isExecutableFile(directory + "/" + name) {
                return directory + "/" + name
            }
        }
        return nil
    }

    private static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
