# shellcheck shell=bash
# Names and paths shared by the lab scripts (sourced, not run). Pulumi.dev.yaml uses the
# same paths: keep them in step.
# shellcheck disable=SC2034
LAB_NS=redis-ha-lab
LAB_DIR=/var/lib/redis-ha-lab
LAB_RUN="$LAB_DIR/run"
LAB_IMAGES="$LAB_DIR/images"
LAB_MIRROR="$LAB_DIR/mirror"
LAB_POOL=redis-ha-lab
LAB_POOL_DIR="$LAB_DIR/pool"
LAB_MIRROR_PORT=8080
LAB_URI=qemu:///system
LAB_SSH_KEY="$LAB_DIR/ssh/id_ed25519"
LAB_SUITE=bookworm
# Names of libvirt objects the lab may remove: the dev stack's and the lab's own.
LAB_PREFIX="redis-ha"

lab_log() {
  printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*"
}

# A short hash of the given files' contents: what a cached build was made from.
lab_inputs_hash() {
  cat "$@" | sha256sum | cut -c1-16
}

# True when OUTPUT exists and HASH_FILE records HASH, i.e. the cached build is current.
lab_is_current() {
  [[ -e "$1" && "$(cat "$2" 2>/dev/null)" == "$3" ]]
}

# True when the PID in FILE is alive and lives in the lab's network namespace.
lab_pid_alive() {
  local pid
  [[ -s "$1" ]] || return 1
  pid="$(cat "$1")"
  [[ -e "/proc/$pid/ns/net" && -e "/run/netns/$LAB_NS" ]] || return 1
  [[ "$(stat -L -c %i "/proc/$pid/ns/net")" == "$(stat -L -c %i "/run/netns/$LAB_NS")" ]]
}
