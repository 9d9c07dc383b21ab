import Glibc

/// `--hang`: the main thread deadlocks, as a real hang would: it takes a normal mutex it
/// already holds (POSIX defines that to block forever), so it uses no CPU, ignores nothing and
/// shows up in a thread dump exactly where it is stuck. Signals keep their dispositions.
enum Hang {
    static func forever() -> Never {
        Output.note("hanging")
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_NORMAL))
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, &attributes)
        pthread_mutex_lock(mutex)
        while true { pthread_mutex_lock(mutex) }
    }
}
