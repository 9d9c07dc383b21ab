import BulkheadControl
import BulkheadJSON
import BulkheadSystem

/// The follow loop `events -f` and `logs -f` share: the daemon's stream until it says `end`,
/// answers a failure, or the connection is lost. `handle` takes the stream's own events and
/// says whether it was one; `flush` writes what is pending; `settle` runs after each handled
/// event (a printer batching its writes).
enum FollowStream {
    static func run(_ client: ControlClient, flush: () -> Void, settle: () -> Void,
                    _ handle: (_ event: String, _ fields: JSON) -> Bool) throws {
        client.setReceiveTimeout(nil)
        while true {
            let message: ControlMessage?
            do {
                message = try client.receive()
            } catch {
                flush()
                throw CLI.fail(error)
            }
            switch message {
            case .event("end", let event)?:
                flush()
                FileDescriptor.standardError.writeLine("bulkhead: \(event["reason"]?.string ?? "the daemon ended the stream")")
                return
            case .event(let name, let event)?:
                guard handle(name, event) else { continue }
            case .result?:
                continue
            case .failure(let failure)?:
                flush()
                throw CLI.fail(.daemon(failure))
            case nil:
                flush()
                throw CLI.fail("the connection to bulkhead at \(client.path) was lost: it stopped or restarted; run the command again once it is back", code: 3)
            }
            settle()
        }
    }
}
