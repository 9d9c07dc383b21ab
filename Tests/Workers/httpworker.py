#!/usr/bin/python3
"""httpworker: a plain HTTP/1.0 worker for bulkhead's tests. It has never heard of sd_notify;
it takes its listening socket the sd_listen_fds(3) way (LISTEN_PID is its own pid, LISTEN_FDS
counts the sockets from fd 3 on), else binds one itself. Its misbehaviour is chosen by flags:

  --port N             bind 127.0.0.1:N when no socket is passed (+ BULKHEAD_INSTANCE_INDEX
                       with --port-plus-index)
  --healthy-after S    GET /healthz answers 503 for the first S seconds, then 200
  --sick-after S       GET /healthz answers 500 from S seconds on (a live probe should kill it)
  --crash-every N      every Nth request other than /healthz aborts the process before it
                       answers (SIGABRT; the client sees its connection closed)
  --stop-after S       the process stops itself with SIGSTOP after S seconds (a deadlock)

Every other request gets "hello from <instance> pid <pid>". One line on stdout per start.
"""
import argparse
import os
import signal
import socket
import sys
import time


def inherited_socket():
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    count = int(os.environ.get("LISTEN_FDS", "0"))
    if count < 1:
        return None
    names = os.environ.get("LISTEN_FDNAMES", "").split(":")
    for variable in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(variable, None)
    return socket.socket(fileno=3), count, names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-plus-index", action="store_true")
    parser.add_argument("--healthy-after", type=float, default=0)
    parser.add_argument("--sick-after", type=float, default=None)
    parser.add_argument("--crash-every", type=int, default=None)
    parser.add_argument("--stop-after", type=float, default=None)
    options = parser.parse_args()

    started = time.monotonic()
    inherited = inherited_socket()
    if inherited:
        listener, count, names = inherited
        where = "inherited fd 3 of %d (%s)" % (count, ",".join(names))
    else:
        port = options.port
        if options.port_plus_index:
            port += int(os.environ.get("BULKHEAD_INSTANCE_INDEX", "0"))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        where = "bound 127.0.0.1:%d" % listener.getsockname()[1]
    instance = os.environ.get("BULKHEAD_INSTANCE", "?")
    print("httpworker %s pid %d: %s" % (instance, os.getpid(), where), flush=True)

    if options.stop_after is not None:
        signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGSTOP))
        signal.setitimer(signal.ITIMER_REAL, options.stop_after)

    served = 0
    while True:
        try:
            client, _ = listener.accept()
        except InterruptedError:
            continue
        with client:
            client.settimeout(5)
            try:
                request = client.recv(4096).decode("latin-1")
            except OSError:
                continue
            path = request.split(" ")[1] if request.count(" ") >= 2 else "/"
            uptime = time.monotonic() - started
            if path == "/healthz":
                if uptime < options.healthy_after:
                    status, body = "503 Service Unavailable", "warming up\n"
                elif options.sick_after is not None and uptime >= options.sick_after:
                    status, body = "500 Internal Server Error", "sick\n"
                else:
                    status, body = "200 OK", "ok\n"
            else:
                served += 1
                if options.crash_every and served % options.crash_every == 0:
                    sys.stderr.write("httpworker: aborting on request %d\n" % served)
                    sys.stderr.flush()
                    os.abort()
                status, body = "200 OK", "hello from %s pid %d\n" % (instance, os.getpid())
            reply = "HTTP/1.0 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (status, len(body), body)
            try:
                client.sendall(reply.encode())
            except OSError:
                pass


if __name__ == "__main__":
    main()
