command: /tmp/bulkhead-crash-programs/c/use_after_free
environment: env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8, stdin /dev/null, cwd /tmp
ended: exit 1
toolchain: gcc (Debian 12.2.0-14+deb12u1) 12.2.0
recorded: 2026-12-07 by scripts/record-runtime-crashes on Debian GNU/Linux 12 (bookworm) x86_64
