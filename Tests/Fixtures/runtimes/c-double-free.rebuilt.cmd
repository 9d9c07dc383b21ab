command: /tmp/bulkhead-crash-programs-rebuilt/c/double_free
environment: env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8, stdin /dev/null, cwd /tmp
ended: signal SIGABRT
toolchain: ldd (Debian GLIBC 2.36-9+deb12u14) 2.36
recorded: 2026-12-07 by scripts/record-runtime-crashes on Debian GNU/Linux 12 (bookworm) x86_64
