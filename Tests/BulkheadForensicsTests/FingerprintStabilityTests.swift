import Testing
@testable import BulkheadForensics

/// Each program was built twice (scripts/build-crash-programs, then again with `--rebuilt`: a
/// padding function put in above the crashing code, in a different directory) and recorded
/// both times. The same bug must give the same fingerprint basis although lines, offsets,
/// addresses and paths moved.
@Suite struct FingerprintStabilityTests {
    static let pairs: [String] = RuntimeFixtures.names().filter { $0.hasSuffix(".rebuilt") }.map { String($0.dropLast(".rebuilt".count)) }

    @Test func everyProgramWasRecordedTwice() {
        #expect(Self.pairs.count >= 30, "record both builds: scripts/record-runtime-crashes && scripts/record-runtime-crashes --rebuilt")
    }

    @Test(arguments: pairs)
    func rebuildKeepsTheBasis(_ name: String) throws {
        let first = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines(name)))
        let second = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines(name + ".rebuilt")))
        #expect(first.fingerprintBasis == second.fingerprintBasis)
        #expect(first.site?.function == second.site?.function)
        #expect(first.site?.file == second.site?.file)
    }

    /// The rebuild really moved the crash site (else the test above proves nothing).
    @Test(arguments: pairs.filter { !$0.hasPrefix("cpp-") && !$0.hasPrefix("c-double-free") && !$0.hasPrefix("node-heap")
        && !$0.hasPrefix("node-reject") && !$0.hasPrefix("rust-stack-overflow") })
    func rebuildMovedTheSite(_ name: String) throws {
        let first = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines(name)))
        let second = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines(name + ".rebuilt")))
        let firstLine = try #require(first.site?.line)
        let secondLine = try #require(second.site?.line)
        #expect(firstLine != secondLine)
        #expect(first.headline != second.headline)
    }

    @Test func differentBugsDiffer() throws {
        var seen: [[String]: String] = [:]
        for name in fixtureExpectations.map(\.name) where !name.contains(".rustc-old") && !name.hasSuffix(".backtrace") {
            let crash = try #require(RuntimeCrashRecognizer.recognise(try RuntimeFixtures.lines(name)))
            #expect(seen[crash.fingerprintBasis] == nil, "\(name) has the same basis as \(seen[crash.fingerprintBasis] ?? "")")
            seen[crash.fingerprintBasis] = name
        }
    }
}
