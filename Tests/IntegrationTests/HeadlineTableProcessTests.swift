import Foundation
import Testing

/// Issue 15: every crashlab kind, built as people build it — debug, release, release with
/// `--static-swift-stdlib` — dies under the real daemon, and the report's headline is the one
/// headlines.tsv gives it (the table the README shows), never empty, never the backtracer's
/// banner; a second release build of the same source with a trivial change gives every kind
/// the same headline and fingerprint. The release builds come from
/// scripts/build-release-crashlabs (scripts/test runs it); without them those tests are skipped.
@Suite("The headline table under the daemon", .serialized)
struct HeadlineTableProcessTests {
    static let built = CrashlabBuild.allCases.allSatisfy { $0.path != nil }

    @Test("every kind gets its headline from the table", .enabled(if: built, Comment(rawValue: CrashlabBuild.missing)),
          arguments: [CrashlabBuild.debug, .release, .staticRelease])
    func headlines(_ build: CrashlabBuild) async throws {
        let deaths = try await CrashlabRuns.shared.deaths(build)
        let rows = SwiftHeadlines.rows.filter { $0.mode == build.tableMode }
        #expect(Set(rows.map(\.kind)) == Set(deaths.keys), "headlines.tsv \(build.tableMode) rows vs crashlab --list-kinds")
        for row in rows {
            let death = try #require(deaths[row.kind], "\(row.kind): no death")
            #expect(death.headline == row.headline, "\(build.rawValue) \(row.kind)")
            #expect(!death.headline.isEmpty && !death.headline.contains("Backtracing") && !death.headline.contains("***"),
                    "\(build.rawValue) \(row.kind): \(death.headline)")
            #expect(!death.fingerprint.isEmpty)
        }
        // The backtracer ran for every trap, static build included (bulkhead names the
        // toolchain's swift-backtrace-static for it): `assert` is compiled out of release.
        let trapped = deaths.filter { !(build != .debug && $0.key == "assert") }
        #expect(trapped.filter { !$0.value.hasBacktrace }.isEmpty, "\(build.rawValue): no backtrace for \(trapped.filter { !$0.value.hasBacktrace }.keys.sorted())")
    }

    @Test("a rebuilt release gives every kind the same headline and fingerprint", .enabled(if: built, Comment(rawValue: CrashlabBuild.missing)))
    func rebuiltRelease() async throws {
        let release = try await CrashlabRuns.shared.deaths(.release)
        let rebuilt = try await CrashlabRuns.shared.deaths(.rebuilt)
        #expect(Set(release.keys) == Set(rebuilt.keys))
        for (kind, death) in release.sorted(by: { $0.key < $1.key }) {
            let other = try #require(rebuilt[kind])
            #expect(other.headline == death.headline, "\(kind)")
            #expect(other.fingerprint == death.fingerprint, "\(kind): \(death.headline)")
        }
        // Two binaries, not one twice.
        let release1 = try #require(CrashlabBuild.release.path), rebuilt1 = try #require(CrashlabBuild.rebuilt.path)
        #expect(FileManager.default.contents(atPath: release1) != FileManager.default.contents(atPath: rebuilt1))
    }

    @Test("release and static builds share the fingerprint of debug where the table says they do",
          .enabled(if: built, Comment(rawValue: CrashlabBuild.missing)))
    func fingerprintsAcrossBuilds() async throws {
        let debug = try await CrashlabRuns.shared.deaths(.debug)
        let release = try await CrashlabRuns.shared.deaths(.release)
        let statics = try await CrashlabRuns.shared.deaths(.staticRelease)
        for row in SwiftHeadlines.rows where row.mode == "release" {
            let releaseDeath = try #require(release[row.kind]), debugDeath = try #require(debug[row.kind])
            switch row.fingerprint {
            case "same": #expect(releaseDeath.fingerprint == debugDeath.fingerprint, "\(row.kind)")
            case "differs": #expect(releaseDeath.fingerprint != debugDeath.fingerprint, "\(row.kind)")
            default: Issue.record("headlines.tsv: release row \(row.kind) without same/differs")
            }
            #expect(statics[row.kind]?.fingerprint == releaseDeath.fingerprint, "\(row.kind): static vs dynamic release")
        }
    }
}
