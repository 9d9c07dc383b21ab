command: GOTRACEBACK=all /tmp/bulkhead-crash-programs-rebuilt/go/goroutines 40
environment: env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8, stdin /dev/null, cwd /tmp
ended: exit 2
toolchain: go version go1.19.8 linux/amd64
recorded: 2026-12-07 by scripts/record-runtime-crashes on Debian GNU/Linux 12 (bookworm) x86_64
