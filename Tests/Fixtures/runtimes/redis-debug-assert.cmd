command: redis-server --port 46817 --bind 127.0.0.1 --save '' --appendonly no --dir TMPDIR --enable-debug-command local
trigger: once 'Ready to accept connections' was printed: redis-cli -p 46817 DEBUG ASSERT
ended: signal SIGABRT
toolchain: Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0
recorded: 2026-12-07 by scripts/record-runtime-crashes on Debian GNU/Linux 12 (bookworm) x86_64
