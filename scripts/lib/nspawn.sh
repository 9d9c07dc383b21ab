# shellcheck shell=bash
# Sourced by scripts/systemd-acceptance and scripts/package-acceptance: a Debian rootfs made by
# debootstrap and cached under /var/tmp, systemd booted in it as PID 1 with systemd-nspawn (in
# cgroups of its own, so the host is untouched), and the PASS/FAIL helpers both tests print with.
# The measured facts behind it: /work/shared/notes/systemd-testing.md.
#
#   nspawn_rootfs                 sets $rootfs (debootstraps it once per package list)
#   nspawn_boot NAME STAGE LOG    boots it, STAGE bound read-only at /opt/bulkhead-test, the
#                                 console in LOG; sets $nspawn and $init; returns non-zero (having
#                                 said FAIL) when systemd did not reach running
#   nspawn_stop                   stops the container and removes its cgroups (safe to repeat)
#   ct COMMAND…                   runs a command in the container

# man-db and bash-completion: the package test reads `man bulkhead` and loads the completions
# the way a person's shell does; libpam-systemd: a user manager (systemctl --user) can start.
# Changing this list makes a new cache key (a new rootfs, once).
nspawn_packages="systemd,systemd-sysv,dbus,procps,libsystemd0,libstdc++6,man-db,bash-completion,libpam-systemd"
nspawn_suite=bookworm

nspawn_rootfs() {
  local key
  key=$(printf '%s\n' "$nspawn_suite" minbase "$nspawn_packages" | sha256sum | cut -c1-12)
  rootfs=/var/tmp/bulkhead-rootfs-$key
  (
    flock 9
    if [ ! -e "$rootfs/.complete" ]; then
      echo "nspawn: building the $nspawn_suite rootfs in $rootfs (about a minute, once)"
      local tmp
      tmp=$(mktemp -d /var/tmp/bulkhead-rootfs-build.XXXXXX)
      if ! debootstrap --variant=minbase --include="$nspawn_packages" "$nspawn_suite" "$tmp" http://deb.debian.org/debian >"$tmp.log" 2>&1; then
        echo "FAIL rootfs: debootstrap failed; last lines of $tmp.log:"; tail -20 "$tmp.log"; rm -rf "$tmp"; exit 1
      fi
      rm -f "$tmp.log"
      touch "$tmp/.complete"
      mv -T "$tmp" "$rootfs"
    fi
  ) 9>/var/tmp/bulkhead-rootfs.lock
}

nspawn=
init=
nspawn_cgroups=()

nspawn_boot() {
  local name=$1 stage=$2 log=$3
  nspawn_cgroups=()
  if [ -d /sys/fs/cgroup/unified ]; then
    nspawn_cgroups=("/sys/fs/cgroup/unified/$name")
    [ -d /sys/fs/cgroup/systemd ] && nspawn_cgroups+=("/sys/fs/cgroup/systemd/$name")
  elif [ -e /sys/fs/cgroup/cgroup.controllers ]; then
    nspawn_cgroups=("/sys/fs/cgroup/$name")
  fi
  local cg
  for cg in "${nspawn_cgroups[@]}"; do mkdir -p "$cg"; done
  # The container's writes go to a tmpfs over the cached rootfs, which stays as it was.
  (
    for cg in "${nspawn_cgroups[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
    exec systemd-nspawn -D "$rootfs" --volatile=overlay -b --register=no --keep-unit --console=read-only \
      --machine="$name" --bind-ro="$stage:/opt/bulkhead-test"
  ) >"$log" 2>&1 &
  nspawn=$!

  init=
  local child
  for _ in $(seq 1 300); do
    for child in $(ps -o pid= --ppid "$nspawn" 2>/dev/null); do
      [ "$(cat /proc/"$child"/comm 2>/dev/null)" = systemd ] && init=$child
    done
    [ -n "$init" ] && break
    kill -0 "$nspawn" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$init" ]; then
    echo "FAIL boot: systemd did not start in the container"; tail -30 "$log"; return 1
  fi
  # systemctl fails until PID 1's private socket exists, then answers starting … running.
  local state=
  for _ in $(seq 1 600); do
    state=$(ct systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) return 0 ;; esac
    sleep 0.1
  done
  echo "FAIL boot: the container's systemd is '$state' after 60 s"; tail -30 "$log"
  return 1
}

nspawn_stop() {
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    kill -TERM "$nspawn"
    for _ in $(seq 1 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nspawn" 2>/dev/null || true
    wait "$nspawn" 2>/dev/null || true
  fi
  nspawn=
  local cg
  for cg in "${nspawn_cgroups[@]}"; do
    # Leaf cgroups first (systemd made its own below ours).
    if [ -d "$cg" ]; then find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  done
  nspawn_cgroups=()
  return 0
}

ct() { nsenter -t "$init" -a "$@"; }   # run in the container

failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() {   # check "description" command…  (PASS when the command succeeds)
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
# Polls a command for up to $1 seconds.
eventually() {
  local limit=$1; shift
  local until=$(($(date +%s) + limit))
  while true; do
    "$@" && return 0
    [ "$(date +%s)" -ge "$until" ] && return 1
    sleep 0.2
  done
}
