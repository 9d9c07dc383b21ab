import Glibc

/// Waiting without doing anything: blocked in pause(), using no CPU, until a signal ends the
/// process. What a run without an ending does, and what the main thread does while another
/// thread is busy dying.
enum Idle {
    static func forever() -> Never {
        while true { pause() }
    }
}
