import BulkheadPolicy
import Testing
@testable import BulkheadForensics

/// A rule's `when: { runtime: … }` is checked against policy's list; the report writes this
/// module's names: they must be the same words.
@Suite struct RuntimeNameTests {
    @Test func theConfigKnowsEveryRuntimeTheReportNames() {
        #expect(Runtime.allCases.map(\.rawValue) == RuntimeCrash.runtimes)
    }
}
