import BulkheadPolicy

/// The one stream of supervisor events (SPEC §6, §11): everything the daemon says goes out
/// here, to the sink (journald or text on stderr) and to every subscriber (event followers,
/// hooks, alerts, metrics, the durable state), each of which must take an event without
/// blocking: a subscriber that cannot keep up drops and counts, never holds the loop.
final class SupervisorEvents {
    typealias Subscriber = (SupervisorEvent, [SupervisorEvent.Field]) -> Void

    private let sink: OutputSink
    private var subscribers: [Subscriber] = []

    init(sink: OutputSink) {
        self.sink = sink
    }

    func subscribe(_ subscriber: @escaping Subscriber) {
        subscribers.append(subscriber)
    }

    /// `extra`: fields the daemon adds to what policy said (crash id, exit code, …).
    func publish(_ event: SupervisorEvent, extra: [SupervisorEvent.Field] = []) {
        sink.event(event, extra: extra)
        for subscriber in subscribers { subscriber(event, extra) }
    }
}
