import BulkheadPolicy
import BulkheadSystem

/// What the mechanism gathered about one death beyond `DeathFacts`: for the crash report only.
struct DeathEvidence {
    var exit: Reaper.Exit?
    var spawnError: String?
    var startedWall: Int64?
    var endedWall: Int64
    var command: [String]
    var detectLatencyMicroseconds: Int64?
    /// `kernel exit event` or `worker exit stamp`, or why it was not measured.
    var latencySource: String
    var breadcrumbs: [BreadcrumbFile.Entry]
    var backtrace: BacktraceReport?
    var stderrTail: [LineRing.Line]
    var leftoversKilled: Int

    init(spawnError: String, wallNanoseconds: Int64, command: [String]) {
        self.spawnError = spawnError
        endedWall = wallNanoseconds
        self.command = command
        latencySource = "no process"
        breadcrumbs = []
        stderrTail = []
        leftoversKilled = 0
    }

    init(exit: Reaper.Exit, startedWall: Int64, endedWall: Int64, command: [String], detectLatencyMicroseconds: Int64?,
         latencySource: String, breadcrumbs: [BreadcrumbFile.Entry], backtrace: BacktraceReport?, stderrTail: [LineRing.Line],
         leftoversKilled: Int) {
        self.exit = exit
        self.startedWall = startedWall
        self.endedWall = endedWall
        self.command = command
        self.detectLatencyMicroseconds = detectLatencyMicroseconds
        self.latencySource = latencySource
        self.breadcrumbs = breadcrumbs
        self.backtrace = backtrace
        self.stderrTail = stderrTail
        self.leftoversKilled = leftoversKilled
    }
}
