command: /tmp/bulkhead-crash-programs-rebuilt/node/unhandled_rejection.js
environment: env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8, stdin /dev/null, cwd /tmp
ended: exit 1
toolchain: v20.20.2
recorded: 2026-12-07 by scripts/record-runtime-crashes on Debian GNU/Linux 12 (bookworm) x86_64
