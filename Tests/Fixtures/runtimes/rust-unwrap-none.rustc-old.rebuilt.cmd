command: /tmp/bulkhead-crash-programs-rebuilt/rust-1.63.0/unwrap_none
environment: env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8, stdin /dev/null, cwd /tmp
ended: exit 101
toolchain: rustc 1.63.0
recorded: 2026-12-07 by scripts/record-runtime-crashes on Debian GNU/Linux 12 (bookworm) x86_64
