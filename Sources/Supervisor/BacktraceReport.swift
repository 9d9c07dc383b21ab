import BulkheadJSON
import BulkheadSystem

/// The Swift runtime backtracer's JSON report (SWIFT_BACKTRACE=format=json,output-to=DIR),
/// read after the worker died. The file names the pid: `DIR/<exe>-<pid>-<n>.json`. It holds
/// frames and source locations, not the `fatalError` message (that is on stderr).
struct BacktraceReport: Equatable {
    struct Frame: Equatable {
        var description: String
        var symbol: String?
        var image: String?
        var file: String?
        var line: Int?
        var inlined: Bool
        var runtimeFailure: Bool
        var system: Bool
        /// Compiler-generated glue (`partial apply for …`, `thunk for …`).
        var thunk: Bool = false

        /// `add(_:_:)` without the `+ 9` offset.
        var function: String {
            guard let plus = description.ranges(of: " + ").last else { return description }
            return String(description[..<plus.lowerBound])
        }

        var location: String? {
            guard let file, let line, line > 0, !file.hasPrefix("//<") else { return nil }
            return "\(file.split(separator: "/").last.map(String.init) ?? file):\(line)"
        }
    }

    struct Thread: Equatable {
        var name: String?
        var crashed: Bool
        var frames: [Frame]
    }

    /// The signal's description (`Illegal instruction`).
    var description: String?
    var threads: [Thread]
    var file: String

    var crashedThread: Thread? { threads.first { $0.crashed } ?? threads.first }

    /// `Swift runtime failure: arithmetic overflow` (release builds say why only here).
    var runtimeFailure: String? {
        crashedThread?.frames.first { $0.runtimeFailure }.map { $0.symbol ?? $0.description }
    }

    /// The first frames that are the program's own: not runtime, not system, not the trap helpers.
    var topFrames: [Frame] {
        (crashedThread?.frames ?? []).filter { frame in
            !frame.runtimeFailure && !frame.system && !frame.thunk && !Self.runtimeImages.contains(frame.image ?? "")
                && !(frame.symbol ?? "").hasPrefix("$ss17_assertionFailure")
        }
    }

    static let runtimeImages: Set<String> = [
        "libswiftCore.so", "libswift_Concurrency.so", "libc.so.6", "libswiftDispatch.so", "libdispatch.so",
    ]

    /// Finds, parses and removes the report for `pid` (nil if the backtracer did not run).
    static func take(directory: String, pid: Int32) -> BacktraceReport? {
        let names = FileSystem.list(directory).filter { isReport($0, of: pid) }
        defer { for name in names { FileSystem.remove(directory + "/" + name) } }
        guard let name = names.sorted().last,
              let bytes = FileSystem.read(directory + "/" + name, limit: 64 << 20) else { return nil }
        return parse(bytes, file: name)
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

    static func parse(_ bytes: [UInt8], file: String) -> BacktraceReport? {
        guard let json = try? JSON(parsing: bytes, limits: .largeDocument) else { return nil }
        var threads: [Thread] = []
        for thread in json["threads"]?.array ?? [] {
            let frames = (thread["frames"]?.array ?? []).compactMap(frame)
            threads.append(Thread(name: thread["name"]?.string, crashed: thread["crashed"]?.bool ?? false, frames: frames))
        }
        return BacktraceReport(description: json["description"]?.string, threads: threads, file: file)
    }

    static func frame(_ json: JSON) -> Frame? {
        guard let kind = json["kind"]?.string, kind != "truncated", kind != "omittedFrames" else { return nil }
        return Frame(
            description: json["description"]?.string ?? json["address"]?.string ?? "?",
            symbol: json["symbol"]?.string, image: json["image"]?.string,
            file: json["sourceLocation"]?["file"]?.string,
            line: json["sourceLocation"]?["line"]?.int.map(Int.init),
            inlined: json["inlined"]?.bool ?? false,
            runtimeFailure: json["runtimeFailure"]?.bool ?? false,
            system: json["system"]?.bool ?? false,
            thunk: json["thunk"]?.bool ?? false
        )
    }

    /// For the crash report: the crashed thread's frames, or (a SIGQUIT dump) every thread's.
    /// - Parameter allThreads: every thread (a watchdog's SIGQUIT dump), not just the crashed one.
    func json(allThreads: Bool = false, maxFramesPerThread: Int = 48, maxThreads: Int = 64) -> JSON {
        func framesJSON(_ frames: [Frame]) -> JSON {
            .array(frames.prefix(maxFramesPerThread).enumerated().map { index, f in
                var o: [(String, JSON)] = [("index", .int(Int64(index))), ("function", .string(f.description))]
                if let image = f.image { o.append(("image", .string(image))) }
                if let file = f.file, let line = f.line, line > 0 { o.append(("source", .string("\(file):\(line)"))) }
                if f.inlined { o.append(("inlined", true)) }
                if f.runtimeFailure { o.append(("runtime_failure", true)) }
                return .object(o)
            })
        }
        var o: [(String, JSON)] = []
        if let description { o.append(("signal_description", .string(description))) }
        if let runtimeFailure { o.append(("runtime_failure", .string(runtimeFailure))) }
        o.append(("thread_count", .int(Int64(threads.count))))
        if allThreads || (threads.count > 1 && !threads.contains(where: \.crashed)) {
            // No crashed thread: a thread dump (SIGQUIT from the watchdog).
            o.append(("threads", .array(threads.prefix(maxThreads).map { t in
                .object([("name", t.name.map(JSON.string) ?? .null), ("frames", framesJSON(t.frames))])
            })))
        } else if let crashed = crashedThread {
            o.append(("crashed_thread", crashed.name.map(JSON.string) ?? .null))
            o.append(("frames", framesJSON(crashed.frames)))
        }
        return .object(o)
    }
}
