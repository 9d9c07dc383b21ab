import Testing
@testable import BulkheadForensics

@Test func explainerIsReachable() {
    _ = CrashExplainer.explain(DeathScene(termination: .exited(code: 1)))
}
