command: /tmp/bulkhead-crash-programs-rebuilt/java/CausedBy
environment: env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8, stdin /dev/null, cwd /tmp
ended: exit 1
toolchain: openjdk version "17.0.15" 2025-04-15
recorded: 2026-12-07 by scripts/record-runtime-crashes on Debian GNU/Linux 12 (bookworm) x86_64
