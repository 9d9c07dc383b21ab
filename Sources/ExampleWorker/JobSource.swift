/// Hands out fake jobs, numbered from 1, and counts the finished ones.
actor JobSource {
    private let limit: Int?
    private var issued = 0
    private(set) var processed = 0

    init(limit: Int?) {
        self.limit = limit
    }

    /// The next job number, or nil when the limit is reached.
    func next() -> Int? {
        if let limit, issued >= limit { return nil }
        issued += 1
        return issued
    }

    /// Records a finished job; returns the total so far.
    func finished() -> Int {
        processed += 1
        return processed
    }
}
