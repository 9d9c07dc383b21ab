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

    /// Someone besides the sink listens (an event only they would hear need not be made).
    var hasSubscribers: Bool { !subscribers.isEmpty }

    func subscribe(_ subscriber: @escaping Subscriber) {
        subscribers.append(subscriber)
    }

    /// Who hears an event. A death folded into an earlier report (CrashCoalescer) is heard by
    /// the subscribers (every death counts) but not written to the journal; the "repeated N
    /// times" line that stands for such deaths is written, and heard by no subscriber (it
    /// would count them twice).
    enum Audience {
        case everyone, subscribersOnly, sinkOnly
    }

    /// `extra`: fields the daemon adds to what policy said (crash id, exit code, …).
    func publish(_ event: SupervisorEvent, extra: [SupervisorEvent.Field] = [], to audience: Audience = .everyone) {
        if audience != .subscribersOnly { sink.event(event, extra: extra) }
        guard audience != .sinkOnly else { return }
        for subscriber in subscribers { subscriber(event, extra) }
    }
}
