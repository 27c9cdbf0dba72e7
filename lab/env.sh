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
# The guests' Debian release: 13 (today's stable) unless LAB_RELEASE says debian-12. Each release
# has its own base image, kernel and initrd, and its own suite in the one package mirror.
LAB_RELEASE="${LAB_RELEASE:-debian-13}"
case "$LAB_RELEASE" in
  debian-13) LAB_SUITE=trixie ;;
  debian-12) LAB_SUITE=bookworm ;;
  *) echo "error: LAB_RELEASE must be debian-13 or debian-12, got $LAB_RELEASE" >&2; exit 1 ;;
esac
LAB_RELEASE_IMAGES="$LAB_IMAGES/$LAB_RELEASE"
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

# Removes the lab's namespace if it exists. Anything still inside (a stray qemu or client) would
# keep the namespace's devices alive, so it is killed first.
lab_remove_namespace() {
  local pid
  ip netns list | grep -qw "$LAB_NS" || return 1
  for pid in $(ip netns pids "$LAB_NS"); do
    kill -9 "$pid" 2>/dev/null || true
  done
  ip netns delete "$LAB_NS"
}

# Debian's sources for the lab's suite (deb822), from the archive the host's own sources name:
# the image and the mirror are built from the same ones.
lab_sources() {
  local archive security
  archive="$(awk '$1 == "URIs:" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  security="$(awk '$1 == "URIs:" && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n\n' \
    "${archive:-http://deb.debian.org/debian}" "$LAB_SUITE" "$LAB_SUITE" /usr/share/keyrings/debian-archive-keyring.gpg
  printf 'Types: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
    "${security:-http://deb.debian.org/debian-security}" "$LAB_SUITE" /usr/share/keyrings/debian-archive-keyring.gpg
}
