import Glibc

/// A plain detached pthread, for the few things that must run beside a blocked main thread
/// (watchdog pings, the stop-signal waiter, the allocator). Threads inherit the signal mask of
/// the thread that creates them.
enum Threads {
    static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body {
            nameCurrentThread(name)
            body()
        }).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            Output.note("cannot start the \(name) thread (error \(result))")
            exit(CrashLabExit.environment)
        }
        pthread_detach(thread)
    }

    /// What pthread_setname_np does (it is not in Swift's Glibc module): the name shows in
    /// thread dumps and in the backtracer's report.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        Output.write(String(name.prefix(15)), to: fd)
        close(fd)
    }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
