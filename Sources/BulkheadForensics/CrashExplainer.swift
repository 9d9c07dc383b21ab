import BulkheadPolicy

/// The headline and everything else the crash report says about why (SPEC §7), from the best
/// evidence a death left (`DeathScene`). (Stub: to be written.)
public enum CrashExplainer {
    public static func explain(_ scene: DeathScene) -> CrashExplanation {
        CrashExplanation(headline: "")
    }
}
