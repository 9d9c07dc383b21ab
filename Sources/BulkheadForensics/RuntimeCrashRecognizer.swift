/// Finds a runtime's crash block in a worker's last output lines. (Stub: to be written.)
public enum RuntimeCrashRecognizer {
    /// The last crash block in `lines` (both streams, oldest first), or nil.
    public static func recognise(_ lines: [OutputLine]) -> RecognisedCrash? {
        nil
    }
}

/// The daemon calls this for every output line it reads, so it must cost a byte compare or two:
/// true when `line` can start a runtime's crash block (`panic: `, `fatal error: `, `thread '`,
/// `Traceback (most recent call last):`, …), so the daemon pins the block's head in case a
/// long trace scrolls it out of the tail. (Stub: to be written.)
public enum CrashBlockMarkers {
    public static func isBlockStart(_ line: UnsafeRawBufferPointer) -> Bool {
        false
    }
}
