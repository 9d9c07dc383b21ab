import Testing
@testable import BulkheadForensics

/// Every recorded death (scripts/record-swift-crashes) against the table in headlines.tsv: the
/// exact headline in debug and release, fingerprints shared where the table says the two
/// builds left the same evidence, and a rebuilt release identical to the first.
@Suite struct HeadlineTableTests {
    static let buildModes = ["debug", "release"]
    static let recordedModes = ["debug", "release", "release-static", "debug-nobacktrace", "release-nobacktrace", "c"]

    @Test func theTableParsesAndCoversEveryRecording() throws {
        let rows = try HeadlineTable.load()
        #expect(rows.count == HeadlineTable.rows.count)
        var seen: Set<String> = []
        for row in rows {
            #expect(seen.insert(row.description).inserted, "headlines.tsv:\(row.lineNumber): \(row) twice")
            #expect(Self.recordedModes.contains(row.mode), "headlines.tsv:\(row.lineNumber): unknown mode \(row.mode)")
            let compared = row.mode == "release"
            #expect((row.fingerprint != .notCompared) == compared, "headlines.tsv:\(row.lineNumber): FINGERPRINT")
        }
        for mode in Self.recordedModes {
            let kinds = CrashFixtures.kinds(mode: mode)
            #expect(!kinds.isEmpty, "no recordings in \(mode)/")
            for kind in kinds { #expect(seen.contains("\(mode)/\(kind)"), "\(mode)/\(kind) is recorded but not in headlines.tsv") }
        }
        // Every crash lab kind, in both builds.
        let debugKinds = CrashFixtures.kinds(mode: "debug")
        #expect(debugKinds.count >= 34)
        #expect(Set(debugKinds) == Set(CrashFixtures.kinds(mode: "release")))
        #expect(Set(debugKinds) == Set(CrashFixtures.kinds(mode: "release-static")))
        for kind in debugKinds {
            for mode in Self.buildModes { #expect(seen.contains("\(mode)/\(kind)"), "\(mode)/\(kind) has no row") }
        }
    }

    @Test(arguments: HeadlineTable.rows)
    func eachRecordingGetsItsHeadline(_ row: HeadlineRow) throws {
        let explanation = CrashExplainer.explain(try CrashFixtures.scene(mode: row.mode, kind: row.kind))
        #expect(explanation.headline == row.headline, "headlines.tsv:\(row.lineNumber)")
        Self.expectNoBanner(explanation, "\(row)")
    }

    @Test(arguments: HeadlineTable.rows.filter { $0.fingerprint != .notCompared })
    func releaseFingerprintsMatchDebugWhereTheEvidenceDoes(_ row: HeadlineRow) throws {
        let release = CrashExplainer.explain(try CrashFixtures.scene(mode: row.mode, kind: row.kind))
        let debug = CrashExplainer.explain(try CrashFixtures.scene(mode: "debug", kind: row.kind))
        #expect(!release.fingerprintBasis.isEmpty && !debug.fingerprintBasis.isEmpty)
        switch row.fingerprint {
        case .same: #expect(release.fingerprintBasis == debug.fingerprintBasis, "headlines.tsv:\(row.lineNumber)")
        case .differs: #expect(release.fingerprintBasis != debug.fingerprintBasis, "headlines.tsv:\(row.lineNumber)")
        case .notCompared: break
        }
    }

    /// Two other release builds of the same source must read as the first, kind by kind:
    /// - release-rebuilt/, built again with a function added at the top of each trap file (code
    ///   shifted, no line moved) and from another directory: nothing in a headline or a
    ///   fingerprint may notice;
    /// - release-static/, `--static-swift-stdlib`: the runtime, the standard library and
    ///   Dispatch are in the program's own image, and their frames must still not pass for the
    ///   program's (SwiftFrameRoles).
    @Test(arguments: ["release-rebuilt", "release-static"], CrashFixtures.kinds(mode: "release"))
    func anotherReleaseBuildReadsAsTheFirst(_ mode: String, _ kind: String) throws {
        let first = CrashExplainer.explain(try CrashFixtures.scene(mode: "release", kind: kind))
        let other = CrashExplainer.explain(try CrashFixtures.scene(mode: mode, kind: kind))
        #expect(other.headline == first.headline)
        #expect(other.fingerprintBasis == first.fingerprintBasis)
        #expect(other.site == first.site)
        #expect(other.kind == first.kind)
    }

    @Test func theRebuiltReleaseIsAnotherBinary() throws {
        // So that the test above compares two builds, not one recording twice.
        let first = try #require(CrashFixtures.text(CrashFixtures.swiftCrashes + "/release/overflow-add.json"))
        let rebuilt = try #require(CrashFixtures.text(CrashFixtures.swiftCrashes + "/release-rebuilt/overflow-add.json"))
        func buildID(_ text: String) -> Substring? {
            text.firstRange(of: "\"buildId\": \"").map { text[$0.upperBound...].prefix(40) }
        }
        #expect(buildID(first) != nil && buildID(first) != buildID(rebuilt))
        // Built from a copy elsewhere: the source paths differ too.
        #expect(rebuilt.contains("/rebuilt/Sources/CrashLab/RuntimeTraps.swift"))
        #expect(!first.contains("/rebuilt/Sources/"))
    }

    @Test func noRecordingAnywhereGetsABannerForAHeadline() throws {
        for mode in Self.recordedModes + ["release-rebuilt"] {
            for kind in CrashFixtures.kinds(mode: mode) {
                Self.expectNoBanner(CrashExplainer.explain(try CrashFixtures.scene(mode: mode, kind: kind)), "\(mode)/\(kind)")
            }
        }
    }

    static func expectNoBanner(_ explanation: CrashExplanation, _ name: String) {
        let fields = [explanation.headline, explanation.fatalMessage ?? "", explanation.message ?? ""] + explanation.fingerprintBasis
        for field in fields {
            #expect(!field.contains("Backtracing") && !field.contains("***"), "\(name): \(field)")
        }
        #expect(!explanation.headline.isEmpty, "\(name)")
        #expect(!explanation.headline.contains("\n"), "\(name)")
        #expect(!explanation.fingerprintBasis.isEmpty, "\(name)")
    }
}
