import Testing
@testable import BulkheadForensics

/// `explain` runs once per death on the daemon's report-writing thread: milliseconds are fine,
/// hundreds are not. The biggest recording is a stack overflow's report (24–26 KB, 63 frames,
/// 174 000 left out).
@Suite struct ExplainTimingTests {
    @Test func theStackOverflowIsExplainedInMilliseconds() throws {
        var worst: Duration = .zero
        for mode in ["debug", "release", "release-rebuilt"] {
            let scene = try CrashFixtures.scene(mode: mode, kind: "stack-overflow")
            let clock = ContinuousClock()
            var times: [Duration] = []
            for _ in 0..<50 {
                let start = clock.now
                let explanation = CrashExplainer.explain(scene)
                times.append(clock.now - start)
                #expect(explanation.kind == "stack overflow")
            }
            times.sort()
            print("explain(\(mode)/stack-overflow, \(scene.swiftBacktraceJSON?.count ?? 0) bytes): median \(times[times.count / 2]), max \(times[times.count - 1])")
            worst = max(worst, times[times.count / 2])
        }
        // A debug build of the tests, on a shared machine: the bound is generous on purpose.
        // A quadratic walk over a 10,000-frame report would take seconds.
        #expect(worst < .milliseconds(500))
    }
}
