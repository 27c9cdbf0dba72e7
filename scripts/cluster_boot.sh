#!/usr/bin/env bash
# Chooses whether corosync and pacemaker start at boot on this node. Off by default: a node
# that failed stays out of the cluster until an operator has looked at it.
# Usage: cluster_boot.sh START_AT_BOOT(true|false)
set -euo pipefail

start_at_boot="$1"
changes=()
for unit in corosync pacemaker; do
  if [[ "$start_at_boot" == "true" ]] && ! systemctl is-enabled --quiet "$unit"; then
    systemctl enable "$unit" >/dev/null 2>&1
    changes+=("enabled $unit")
  elif [[ "$start_at_boot" != "true" ]] && systemctl is-enabled --quiet "$unit"; then
    systemctl disable "$unit" >/dev/null 2>&1
    changes+=("disabled $unit")
  fi
done
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: corosync and pacemaker start at boot: $start_at_boot"
else
  echo "changed: ${changes[*]}"
fi
