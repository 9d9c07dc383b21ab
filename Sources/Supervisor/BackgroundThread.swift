import Glibc

/// A detached POSIX thread for the daemon's helpers (the output, journal and crash report
/// writers). They run outside Swift's concurrency runtime, which the daemon does not use.
enum BackgroundThread {
    private final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs `body` on a new thread; false when the thread could not be created.
    static func start(_ body: @escaping () -> Void) -> Bool {
        let start = Unmanaged.passRetained(Start(body)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, start)
        guard rc == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            return false
        }
        pthread_detach(handle)
        return true
    }
}
