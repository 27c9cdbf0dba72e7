#!/usr/bin/env bash
# Tears the lab down: every domain, network and pool of the lab's libvirtd, the daemons and
# the mirror it started (by PID), and the namespace. The built image and mirror stay cached
# in $LAB_DIR. Safe to run twice. Usage: lab/down.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"

# A lab whose processes were killed instead of taken down leaves its domains, networks and pool
# defined in /etc/libvirt; the next lab's libvirtd loads them again, under the names every stack
# of the lab uses. Only a running libvirtd undefines them: bring the lab up to remove them.
lab_definitions_left() {
  compgen -G "/etc/libvirt/qemu/$LAB_PREFIX*.xml" >/dev/null \
    || compgen -G "/etc/libvirt/qemu/networks/$LAB_PREFIX*.xml" >/dev/null \
    || compgen -G "/etc/libvirt/storage/$LAB_PREFIX*.xml" >/dev/null
}
if ! lab_pid_alive "$LAB_RUN/libvirtd.pid" && lab_definitions_left; then
  lab_log "definitions of a lab whose processes died are left in /etc/libvirt: starting its libvirtd to remove them"
  "$here/up.sh" >/dev/null
fi

stop_pid() {
  local name="$1" file="$LAB_RUN/$1.pid" pid
  if ! lab_pid_alive "$file"; then
    rm -f "$file"
    return
  fi
  pid="$(cat "$file")"
  kill "$pid"
  for _ in $(seq 1 100); do
    [[ -d "/proc/$pid" ]] || break
    sleep 0.1
  done
  if [[ -d "/proc/$pid" ]]; then
    kill -9 "$pid"
  fi
  rm -f "$file"
  lab_log "stopped $name (pid $pid)"
}

# Only the lab's own libvirtd is asked (its pid file proves it is ours), and only about
# objects named like the lab's: libvirtd shares /etc/libvirt with any other use of it.
if lab_pid_alive "$LAB_RUN/libvirtd.pid"; then
  virsh_lab() { virsh -q -c "$LAB_URI" "$@"; }
  ours() { grep -E "^($LAB_PREFIX)" || true; }
  for domain in $(virsh_lab list --all --name | ours); do
    virsh_lab destroy "$domain" >/dev/null 2>&1 || true
    virsh_lab undefine "$domain" --nvram >/dev/null 2>&1 || virsh_lab undefine "$domain" >/dev/null
    lab_log "removed domain $domain"
  done
  for network in $(virsh_lab net-list --all --name | ours); do
    virsh_lab net-destroy "$network" >/dev/null 2>&1 || true
    # A transient network (the lab's guests.py creates those) is gone once destroyed.
    if virsh_lab net-info "$network" >/dev/null 2>&1; then
      virsh_lab net-undefine "$network" >/dev/null
    fi
    lab_log "removed network $network"
  done
  for pool in $(virsh_lab pool-list --all --name | ours); do
    for volume in $(virsh_lab vol-list "$pool" 2>/dev/null | awk '{print $1}'); do
      virsh_lab vol-delete "$volume" --pool "$pool" >/dev/null
    done
    virsh_lab pool-destroy "$pool" >/dev/null 2>&1 || true
    virsh_lab pool-undefine "$pool" >/dev/null
    lab_log "removed pool $pool and its volumes"
  done
fi
# The kept lab cluster's fence_virtd runs in the namespace with the program's configuration:
# undo it as `pulumi destroy` would (restores the host's previous /etc/fence_virt.conf).
if [[ -f /run/fence_virtd.pid ]] && [[ "$(ip netns identify "$(cat /run/fence_virtd.pid)" 2>/dev/null)" == "$LAB_NS" ]]; then
  bash "$here/../scripts/fence_virtd_remove.sh" | sed "s/^/[lab] fence_virtd: /"
fi
# Likewise a quorum device's corosync-qnetd, with each lab cluster's client certificate.
qnetd_pid=/run/corosync-qnetd/corosync-qnetd.pid
if [[ -f "$qnetd_pid" ]] && [[ "$(ip netns identify "$(cat "$qnetd_pid")" 2>/dev/null)" == "$LAB_NS" ]]; then
  for cluster_dir in /etc/corosync/qnetd/redis-ha/*/; do
    bash "$here/../scripts/qnetd_remove.sh" "$(basename "$cluster_dir")" | sed "s/^/[lab] corosync-qnetd: /"
  done
fi
stop_pid mirror
stop_pid libvirtd
stop_pid virtlogd

if lab_remove_namespace; then
  lab_log "removed network namespace $LAB_NS"
fi

if [[ -f "$LAB_RUN/stopped-units" ]]; then
  while IFS= read -r unit; do
    systemctl start "$unit" && lab_log "started $unit again"
  done < "$LAB_RUN/stopped-units"
  rm -f "$LAB_RUN/stopped-units"
fi
lab_log "lab is down (cached image and mirror kept in $LAB_DIR)"
