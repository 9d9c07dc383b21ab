import Testing
@testable import Supervisor

/// Where the OOM killer's bias puts the daemon and its workers: the workers 500 above the
/// daemon whether or not it may lower its own value, and left alone when someone placed it.
@Suite("oom_score_adj of the daemon and its workers")
struct OOMScoreChoiceTests {
    @Test func loweredItselfWorkersGoBackToZero() {
        #expect(Daemon.workerOOMScoreAdjust(own: 0, lowered: true) == 0)
    }

    @Test func withoutCapSysResourceWorkersAreRaisedInstead() {
        #expect(Daemon.workerOOMScoreAdjust(own: 0, lowered: false) == 500)
    }

    @Test func reexecutedAtItsOwnValueWorkersStillGoBackToZero() {
        #expect(Daemon.workerOOMScoreAdjust(own: Daemon.ownOOMScoreAdjust, lowered: false) == 0)
    }

    @Test(arguments: [-900, -100, 100, 300, 1000] as [Int32])
    func placedByItsUnitWorkersInheritIt(own: Int32) {
        #expect(Daemon.workerOOMScoreAdjust(own: own, lowered: false) == nil)
    }
}
