import Foundation
import Testing

/// The crashlab builds besides the debug one the tests are built with, made by
/// `scripts/build-release-crashlabs` (scripts/test runs it): a release build, the same rebuilt
/// from a copy with a trivial change, and a `--static-swift-stdlib` release build.
enum CrashlabBuild: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case debug
    case release
    case rebuilt
    case staticRelease = "static"

    /// Where the build is; nil when it was not built.
    var path: String? {
        let path: String
        switch self {
        case .debug: path = Products.path("crashlab")
        case .release: path = PackageFiles.root + "/.build-crashlab-release/release/crashlab"
        case .rebuilt: path = PackageFiles.root + "/.build-crashlab-rebuilt/release/crashlab"
        case .staticRelease: path = PackageFiles.root + "/.build-crashlab-static/release/crashlab"
        }
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Its rows in headlines.tsv (a rebuilt release must read as the release).
    var tableMode: String {
        switch self {
        case .debug: return "debug"
        case .release, .rebuilt: return "release"
        case .staticRelease: return "release-static"
        }
    }

    var testDescription: String { rawValue }

    static var missing: String {
        let absent = allCases.filter { $0.path == nil }.map(\.rawValue)
        return "crashlab builds not found: \(absent.joined(separator: ", ")) (run scripts/build-release-crashlabs)"
    }
}

/// What the daemon reported for one crashlab death.
struct KindDeath: Sendable {
    var headline: String
    var fingerprint: String
    var deathClass: String
    var hasBacktrace: Bool
}

/// Every `--die` kind of one crashlab build, run at once under one daemon (each a worker that
/// is not restarted), and the report of each death by kind. Each build is run once per test
/// process, whichever test asks first.
actor CrashlabRuns {
    static let shared = CrashlabRuns()
    private var runs: [CrashlabBuild: Task<[String: KindDeath], Error>] = [:]

    func deaths(_ build: CrashlabBuild) async throws -> [String: KindDeath] {
        if let run = runs[build] { return try await run.value }
        let run = Task { try await Self.runEveryKind(build) }
        runs[build] = run
        return try await run.value
    }

    private static func runEveryKind(_ build: CrashlabBuild) async throws -> [String: KindDeath] {
        let crashlab = try #require(build.path, "\(build.rawValue) crashlab: \(CrashlabBuild.missing)")
        let directory = URL(fileURLWithPath: crashlab).deletingLastPathComponent().path
        let kinds = try Products.run("crashlab", ["--list-kinds"], from: directory).stdout.split(separator: "\n").map(String.init)
        #expect(kinds.count >= 34, "crashlab --list-kinds: \(kinds)")
        let workers = kinds.map { kind in
            """
              - name: k-\(kind)
                command: [\(crashlab), --die, \(kind)]
                restart: never
            """
        }
        return try await withDaemon("workers:\n" + workers.joined(separator: "\n"), name: "kinds-\(build.rawValue)") { daemon in
            var deaths: [String: KindDeath] = [:]
            for kind in kinds {
                let exit = try await daemon.next("k-\(kind):0", "exit", timeout: 180)
                let report = try daemon.report(for: exit)
                deaths[kind] = KindDeath(headline: report["headline"] as? String ?? "", fingerprint: report["fingerprint"] as? String ?? "",
                                         deathClass: report["class"] as? String ?? "", hasBacktrace: report["backtrace"] is [String: Any])
            }
            return deaths
        }
    }
}
