command: /tmp/bulkhead-crash-programs-rebuilt/cpp/uncaught_runtime_error
environment: env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8, stdin /dev/null, cwd /tmp
ended: signal SIGABRT
toolchain: g++ (Debian 12.2.0-14+deb12u1) 12.2.0
recorded: 2026-12-07 by scripts/record-runtime-crashes on Debian GNU/Linux 12 (bookworm) x86_64
