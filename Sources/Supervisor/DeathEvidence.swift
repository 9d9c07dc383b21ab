import BulkheadForensics
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
    var stderrTail: [LineRing.Line]
    /// The last lines of both streams, marked by stream (the report's `output_tail`).
    var outputTail: [OutputLine]
    /// Why, as far as what the death left can tell (BulkheadForensics).
    var explanation: CrashExplanation?
    var leftoversKilled: Int

    init(spawnError: String, wallNanoseconds: Int64, command: [String]) {
        self.spawnError = spawnError
        endedWall = wallNanoseconds
        self.command = command
        latencySource = "no process"
        breadcrumbs = []
        stderrTail = []
        outputTail = []
        leftoversKilled = 0
    }

    init(_ reaped: ReapedProcess, command: [String], stderrTail: [LineRing.Line], outputTail: [OutputLine], explanation: CrashExplanation) {
        exit = reaped.exit
        startedWall = reaped.startedWall
        endedWall = reaped.endedWall
        self.command = command
        detectLatencyMicroseconds = reaped.detectLatencyMicroseconds
        latencySource = reaped.latencySource
        breadcrumbs = reaped.breadcrumbs
        self.stderrTail = stderrTail
        self.outputTail = outputTail
        self.explanation = explanation
        leftoversKilled = reaped.leftoversKilled
    }
}
