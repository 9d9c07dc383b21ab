/// Breadcrumbs from anywhere in the process, inside or outside `run`: the same ring
/// ``WorkerContext/breadcrumb(_:_:)`` writes to.
///
/// ```swift
/// Breadcrumbs.record("order 42: charging card")
/// Breadcrumbs.record("charge", ["order": "42", "trace_id": "abc"])   // "charge order=42 trace_id=abc"
/// ```
public enum Breadcrumbs {
    /// Appends one entry to ``BreadcrumbRing/shared``. Lock-free; safe from any task or thread.
    public static func record(_ message: String, _ fields: [String: String] = [:]) {
        BreadcrumbRing.shared.record(message, fields)
    }

    /// The newest entries of ``BreadcrumbRing/shared``, oldest first.
    public static func recent(limit: Int = 32) -> [Breadcrumb] {
        BreadcrumbRing.shared.entries(limit: limit)
    }
}
