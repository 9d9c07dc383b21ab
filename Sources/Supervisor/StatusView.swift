import BulkheadPolicy

/// `status` as bytes: the JSON document and the table the CLI prints, from policy's rows and
/// the daemon's facts. Each instance's bytes are kept between requests until its row's
/// revision moves (StatusFragments, StatusTableCells): a request formats the clock's fields and
/// copies the rest.
final class StatusView {
    private let fragments = StatusFragments()
    private let cells = StatusTableCells()

    func document(_ daemon: DaemonFacts, _ rows: [InstanceSnapshot], _ now: Instant) -> [UInt8] {
        StatusDocument.encode(daemon, rows, now, fragments: fragments)
    }

    func table(_ daemon: DaemonFacts, _ rows: [InstanceSnapshot], _ now: Instant, width: Int?) -> [UInt8] {
        StatusTable.reply(daemon, rows, now, width: width, cells: cells)
    }
}
