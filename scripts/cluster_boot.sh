#!/usr/bin/env bash
# Chooses whether corosync and pacemaker (and corosync-qdevice, with a quorum device) start at
# boot on this node. Off by default: a node that failed stays out of the cluster until an
# operator has looked at it.
# Usage: cluster_boot.sh START_AT_BOOT(true|false) QUORUM_DEVICE(true|false)
set -euo pipefail

start_at_boot="$1" quorum_device="$2"
changes=()
for unit in corosync pacemaker corosync-qdevice; do
  wanted="$start_at_boot"
  # corosync-qdevice requires corosync: enabled without a device, it would start the cluster.
  [[ "$unit" == corosync-qdevice && "$quorum_device" != "true" ]] && wanted=false
  if [[ "$wanted" == "true" ]] && ! systemctl is-enabled --quiet "$unit"; then
    systemctl enable "$unit" >/dev/null 2>&1
    changes+=("enabled $unit")
  elif [[ "$wanted" != "true" ]] && systemctl is-enabled --quiet "$unit" 2>/dev/null; then
    systemctl disable "$unit" >/dev/null 2>&1
    changes+=("disabled $unit")
  fi
done
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: cluster units start at boot: $start_at_boot (quorum device: $quorum_device)"
else
  echo "changed: ${changes[*]}"
fi
