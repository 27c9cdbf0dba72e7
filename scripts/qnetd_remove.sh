#!/usr/bin/env bash
# Undoes qnetd_setup.sh for one cluster: its client certificate goes; corosync-qnetd stops,
# and the firewall port closes, only when redis-ha started or opened them and no other
# redis-ha cluster still uses this qnetd.
# Usage: qnetd_remove.sh CLUSTER_NAME
set -euo pipefail
if [[ $EUID -ne 0 ]]; then
  exec sudo bash -c "$BASH_EXECUTION_STRING" "$0" "$@"
fi
cluster="$1"
qnetd_dir=/etc/corosync/qnetd
ours="$qnetd_dir/redis-ha"
pidfile=/run/corosync-qnetd/corosync-qnetd.pid

changes=()
if [[ -e "$ours/$cluster" ]]; then
  rm -rf "${ours:?}/$cluster" "$qnetd_dir/nssdb/cluster-$cluster.crt"
  changes+=("removed cluster $cluster's client certificate")
fi
if [[ -d "$ours" ]] && ! find "$ours" -mindepth 1 -maxdepth 1 -type d | grep -q .; then
  if [[ -f "$ours/started-daemon" ]]; then
    if [[ -f "$pidfile" ]] && pid="$(cat "$pidfile")" && kill "$pid" 2>/dev/null; then
      # Gone before this returns, so a setup right after starts a fresh one.
      for _ in $(seq 1 100); do
        [[ -r "/proc/$pid/cmdline" && -s "/proc/$pid/cmdline" ]] || break
        sleep 0.1
      done
      changes+=("stopped corosync-qnetd")
    fi
    rm -f "$ours/started-daemon"
  fi
  if [[ -f "$ours/enabled-service" ]]; then
    systemctl disable --now --quiet corosync-qnetd
    rm -f "$ours/enabled-service"
    changes+=("stopped and disabled corosync-qnetd")
  fi
  if [[ -f "$ours/firewall-zone" ]]; then
    zone="$(cat "$ours/firewall-zone")"
    firewall-cmd --quiet --zone="$zone" --remove-port=5403/tcp || true
    firewall-cmd --quiet --permanent --zone="$zone" --remove-port=5403/tcp || true
    rm -f "$ours/firewall-zone"
    changes+=("closed 5403/tcp in firewalld zone $zone")
  fi
  rmdir "$ours"
fi
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: no qnetd set up by redis-ha for cluster $cluster"
else
  echo "changed: ${changes[*]}"
fi
