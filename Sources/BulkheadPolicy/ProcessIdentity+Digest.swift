extension ProcessIdentity {
    /// A hash of everything a process was started with (FNV-1a 64, hex). The state file keeps it
    /// with each worker's pid: a daemon that starts again adopts a process only if its worker
    /// would still start it the same way (as a reload would restart it otherwise). Made from the
    /// value's full description, so a field added to `ProcessIdentity` counts without a change
    /// here; a different description after an upgrade only makes a leftover stopped instead of
    /// adopted, the safe side.
    public var digest: String {
        CrashFingerprint.hex(CrashFingerprint.fnv1a(String(describing: self)))
    }
}
