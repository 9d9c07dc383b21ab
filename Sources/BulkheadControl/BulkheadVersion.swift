/// The version the CLI, the daemon, status documents and crash reports print.
public enum BulkheadVersion {
    public static let current = "0.1.0"
}
