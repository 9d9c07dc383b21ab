/// Whose code a printed frame is in. The crash site is the first frame of the program's own
/// code: not the runtime's (`runtime.gopanic`, `core::panicking`, `java.base/…`, `node:internal`),
/// and, when there is an own frame below it, not a third-party library's either (a nil map
/// written inside a library was passed in by the caller).
enum FrameOrigin: Equatable {
    case own
    case library
    case runtime
}

/// A frame as a recogniser read it, with its origin.
struct ParsedFrame: Equatable {
    var function: String
    var file: String?
    var line: Int?
    var origin: FrameOrigin

    /// The report's frame: the file shown as `SourceLocation.display` does.
    var frame: CrashFrame {
        CrashFrame(function: function, file: file.map(SourceLocation.display), line: line, isRuntime: origin == .runtime)
    }

    var site: CrashSite {
        CrashSite(function: function, file: file.map(SourceLocation.display), line: line)
    }

    /// The crash site among `frames` (innermost first): the first own frame, else the first
    /// library frame, else nil (only the runtime's frames were printed).
    static func site(in frames: [ParsedFrame]) -> CrashSite? {
        if let own = frames.first(where: { $0.origin == .own }) { return own.site }
        return frames.first { $0.origin == .library }?.site
    }
}
