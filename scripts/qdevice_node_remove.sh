#!/usr/bin/env bash
# Undoes qdevice_node.sh (and the start in quorum_device.sh): corosync-qdevice stopped and
# disabled, its certificates and the VIP heuristic removed.
# Usage: qdevice_node_remove.sh HEURISTIC_PATH
set -euo pipefail
heuristic="$1"
db=/etc/corosync/qdevice/net/nssdb

changes=()
if systemctl is-active --quiet corosync-qdevice || systemctl is-enabled --quiet corosync-qdevice 2>/dev/null; then
  systemctl disable --now --quiet corosync-qdevice
  changes+=("stopped corosync-qdevice")
fi
# A client that failed (it did once when the device was switched off, after a fence and rejoin)
# would stay listed as failed: say why, and clear it.
if [[ "$(systemctl is-active corosync-qdevice 2>/dev/null)" == failed ]]; then
  why="$(journalctl -u corosync-qdevice -n 5 -o cat --no-pager 2>/dev/null | tr '\n' ' ')"
  systemctl reset-failed corosync-qdevice
  changes+=("cleared corosync-qdevice's failed state (its last lines: ${why:-none})")
fi
for path in "$db" "$heuristic"; do
  if [[ -e "$path" ]]; then
    rm -rf "$path"
    changes+=("removed $path")
  fi
done
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: no quorum device client on this node"
else
  echo "changed: ${changes[*]}"
fi
