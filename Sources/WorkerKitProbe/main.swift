import Glibc
import WorkerKit

// `workerkit-probe`: runs one WorkerKit call in a real process and prints what it saw, one
// `key=value` line per fact, for WorkerKit's process tests. A test helper that is a product of
// the repo, like crashlab.
//
//   workerkit-probe listen-fds [--keep-environment]
//     fd=3 name=http cloexec=1 listening=1   one line per socket listenFDs() returned
//                                   (listening: SO_ACCEPTCONN, so it is the socket passed)
//     error=…                       or the error it threw
//     LISTEN_PID=… / LISTEN_FDS=… / LISTEN_FDNAMES=…   each variable left in the environment,
//                                   or `<unset>`

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "listen-fds" else {
    print("usage: workerkit-probe listen-fds [--keep-environment]")
    exit(64)
}
do {
    for socket in try listenFDs(unsetEnvironment: !arguments.contains("--keep-environment")) {
        let flags = fcntl(socket.fileDescriptor, F_GETFD)
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        let listening = getsockopt(socket.fileDescriptor, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting != 0
        let cloexec = flags >= 0 && flags & FD_CLOEXEC != 0
        print("fd=\(socket.fileDescriptor) name=\(socket.name) cloexec=\(cloexec ? 1 : 0) listening=\(listening ? 1 : 0)")
    }
} catch {
    print("error=\(error)")
}
for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
    print("\(name)=\(getenv(name).map { String(cString: $0) } ?? "<unset>")")
}
