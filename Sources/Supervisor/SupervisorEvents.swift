import BulkheadPolicy

/// The one stream of supervisor events (SPEC §6, §11): everything the daemon says goes out
/// here, to the sink (journald or text on stderr) and to every subscriber (event followers,
/// hooks, alerts, metrics, the durable state), each of which must take an event without
/// blocking: a subscriber that cannot keep up drops and counts, never holds the loop.
///
/// A subscriber may publish (an alert that fires on an exit, a hook that failed): that event is
/// delivered after the one being delivered, to everyone, so every subscriber sees one order.
final class SupervisorEvents {
    typealias Subscriber = (SupervisorEvent, [SupervisorEvent.Field]) -> Void

    private let sink: OutputSink
    private var subscribers: [Subscriber] = []
    private var delivering = false
    private var queued: [(SupervisorEvent, [SupervisorEvent.Field])] = []

    init(sink: OutputSink) {
        self.sink = sink
    }

    func subscribe(_ subscriber: @escaping Subscriber) {
        subscribers.append(subscriber)
    }

    /// `extra`: fields the daemon adds to what policy said (crash id, exit code, …).
    func publish(_ event: SupervisorEvent, extra: [SupervisorEvent.Field] = []) {
        guard !delivering else {
            queued.append((event, extra))
            return
        }
        delivering = true
        defer { delivering = false }
        deliver(event, extra)
        while !queued.isEmpty {
            let (next, fields) = queued.removeFirst()
            deliver(next, fields)
        }
    }

    private func deliver(_ event: SupervisorEvent, _ extra: [SupervisorEvent.Field]) {
        sink.event(event, extra: extra)
        for subscriber in subscribers { subscriber(event, extra) }
    }
}
