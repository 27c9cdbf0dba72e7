#!/usr/bin/env bash
# Brings the local libvirt lab up: packages, a network namespace with virtlogd + libvirtd
# inside it (every bridge and guest address exists only there), a storage pool, the base
# image, the package mirror served inside the namespace, and the domain type to use.
# Idempotent: a second run changes nothing and says so.
# Usage: lab/up.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"
started=$SECONDS

if [[ $EUID -ne 0 ]]; then
  echo "error: the lab needs root (namespaces, libvirtd)" >&2
  exit 1
fi
mkdir -p "$LAB_RUN" "$LAB_IMAGES" "$LAB_MIRROR" "$LAB_POOL_DIR" "$(dirname "$LAB_SSH_KEY")"

# xsltproc: pulumi-libvirt applies a resource's xml.xslt by running it where `pulumi up` runs.
host_packages=(libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils mmdebstrap
               genisoimage iproute2 dpkg-dev apt-utils openssh-client python3
               redis-tools fence-virtd corosync-qnetd xsltproc)
missing=()
for package in "${host_packages[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" == "install ok installed" ]] || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  lab_log "installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "${missing[@]}"
else
  lab_log "no change: host packages installed"
fi

# The corosync-qnetd package may have started qnetd outside the namespace, where guests cannot
# reach it; the program starts its own inside, and both would use /run/corosync-qnetd.
qnetd_pid="$(cat /run/corosync-qnetd/corosync-qnetd.pid 2>/dev/null || true)"
if [[ -n "$qnetd_pid" && -d "/proc/$qnetd_pid" && "$(ip netns identify "$qnetd_pid" 2>/dev/null)" != "$LAB_NS" ]]; then
  kill "$qnetd_pid"
  lab_log "stopped corosync-qnetd (pid $qnetd_pid) running outside $LAB_NS"
fi

# Build before any guest boots: image and mirror builds need the CPU that guests would take.
"$here/build_image.sh"
"$here/build_mirror.sh"
domain_type="$("$here/detect_accel.sh")"
lab_log "domain type: $domain_type"

# A lab whose processes died without lab/down.sh (killed, or a restarted container) leaves its
# namespace with bridges, and libvirt's status files for networks and domains that no longer run;
# libvirtd crashes reading those. With no lab libvirtd and no lab guest alive, none of it is live.
lab_guest_alive() {
  local file
  for file in /run/libvirt/qemu/"$LAB_PREFIX"*.pid; do
    [[ -s "$file" && -d "/proc/$(cat "$file")" ]] && return 0
  done
  return 1
}
if ! lab_pid_alive "$LAB_RUN/libvirtd.pid" && ! lab_guest_alive \
   && { ip netns list | grep -qw "$LAB_NS" || compgen -G "/run/libvirt/*/$LAB_PREFIX*.xml" >/dev/null; }; then
  lab_remove_namespace || true
  rm -f /run/libvirt/qemu/"$LAB_PREFIX"*.{pid,xml} /run/libvirt/network/"$LAB_PREFIX"*.xml "$LAB_RUN"/*.pid
  # As after a host's reboot: libvirtd starts the autostart networks (and guests) again.
  rm -f /run/libvirt/network/autostarted /run/libvirt/qemu/autostarted
  lab_log "cleared the state of a lab whose processes died without lab/down.sh"
fi

if ! ip netns list | grep -qw "$LAB_NS"; then
  ip netns add "$LAB_NS"
  ip netns exec "$LAB_NS" ip link set lo up
  lab_log "created network namespace $LAB_NS"
else
  lab_log "no change: network namespace $LAB_NS exists"
fi

# Where systemd runs libvirt's own daemons, stop them while the lab owns the sockets, and
# remember which, so lab/down.sh starts them again.
if [[ "$(ps -p 1 -o comm=)" == systemd ]]; then
  for unit in libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket virtlogd.service virtlogd.socket; do
    if systemctl is-active --quiet "$unit"; then
      systemctl stop "$unit"
      echo "$unit" >> "$LAB_RUN/stopped-units"
      lab_log "stopped $unit for the lab"
    fi
  done
fi

# qemu runs as root here so it can read images under $LAB_DIR whatever their owner.
if ! grep -q '^user = "+0"' /etc/libvirt/qemu.conf; then
  printf '\n# redis-ha lab\nuser = "+0"\ngroup = "+0"\n' >> /etc/libvirt/qemu.conf
  lab_log "qemu runs as root (qemu.conf)"
fi
# libvirt expects this folder even for networks without dnsmasq.
mkdir -p /var/lib/libvirt/dnsmasq

if lab_pid_alive "$LAB_RUN/virtlogd.pid"; then
  lab_log "no change: virtlogd running (pid $(cat "$LAB_RUN/virtlogd.pid"))"
else
  ip netns exec "$LAB_NS" virtlogd -d -p "$LAB_RUN/virtlogd.pid"
  lab_log "started virtlogd in $LAB_NS"
fi
if lab_pid_alive "$LAB_RUN/libvirtd.pid"; then
  lab_log "no change: libvirtd running (pid $(cat "$LAB_RUN/libvirtd.pid"))"
else
  ip netns exec "$LAB_NS" libvirtd -d -p "$LAB_RUN/libvirtd.pid"
  lab_log "started libvirtd in $LAB_NS"
fi
deadline=$((SECONDS + 60))
until virsh -q -c "$LAB_URI" version >/dev/null 2>&1; do
  if ((SECONDS > deadline)); then
    echo "error: libvirtd did not answer on $LAB_URI within 60s" >&2
    exit 1
  fi
  sleep 1
done

if ! virsh -q -c "$LAB_URI" pool-info "$LAB_POOL" >/dev/null 2>&1; then
  virsh -q -c "$LAB_URI" pool-define-as "$LAB_POOL" dir --target "$LAB_POOL_DIR" >/dev/null
  virsh -q -c "$LAB_URI" pool-autostart "$LAB_POOL" >/dev/null
  lab_log "defined storage pool $LAB_POOL"
fi
if [[ "$(virsh -q -c "$LAB_URI" pool-info "$LAB_POOL" | awk '$1 == "State:" {print $2}')" != running ]]; then
  virsh -q -c "$LAB_URI" pool-start "$LAB_POOL" >/dev/null
  lab_log "started storage pool $LAB_POOL"
fi

if lab_pid_alive "$LAB_RUN/mirror.pid"; then
  lab_log "no change: package mirror served (pid $(cat "$LAB_RUN/mirror.pid"))"
else
  # Bound to every address of the namespace: guests reach it on their network's gateway.
  ip netns exec "$LAB_NS" python3 -m http.server "$LAB_MIRROR_PORT" --directory "$LAB_MIRROR" \
    > "$LAB_RUN/mirror.log" 2>&1 < /dev/null &
  echo $! > "$LAB_RUN/mirror.pid"
  lab_log "serving package mirror on port $LAB_MIRROR_PORT in $LAB_NS"
fi
deadline=$((SECONDS + 30))
until ip netns exec "$LAB_NS" python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$LAB_MIRROR_PORT/debian/dists/$LAB_SUITE/Release', timeout=2)" 2>/dev/null; do
  if ((SECONDS > deadline)); then
    echo "error: package mirror not answering in $LAB_NS (see $LAB_RUN/mirror.log)" >&2
    exit 1
  fi
  sleep 1
done

if [[ ! -f "$LAB_SSH_KEY" ]]; then
  ssh-keygen -q -t ed25519 -N "" -C "redis-ha-lab" -f "$LAB_SSH_KEY"
  lab_log "created lab SSH key $LAB_SSH_KEY"
fi

cat <<SUMMARY
lab ready in $((SECONDS - started))s
  namespace:    $LAB_NS   (run guest-facing commands with: ip netns exec $LAB_NS ...)
  libvirt URI:  $LAB_URI   (domain type: $domain_type)
  storage pool: $LAB_POOL ($LAB_POOL_DIR)
  base image:   $LAB_RELEASE_IMAGES/base.qcow2 ($(du -h "$LAB_RELEASE_IMAGES/base.qcow2" | cut -f1)), kernel $LAB_RELEASE_IMAGES/vmlinuz ($LAB_RELEASE)
  mirror:       http://<network gateway>:$LAB_MIRROR_PORT/debian, suite $LAB_SUITE ($(du -sh "$LAB_MIRROR/debian/pool/$LAB_SUITE" | cut -f1))
  SSH key:      $LAB_SSH_KEY
SUMMARY
