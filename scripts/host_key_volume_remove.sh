#!/usr/bin/env bash
# Undoes host_key_volume.sh: deletes the node's host key volume (its domain is gone by then).
# Usage: host_key_volume_remove.sh LIBVIRT_URI POOL VOLUME
set -euo pipefail
uri="$1"
pool="$2"
volume="$3"
if ! virsh -q -c "$uri" vol-info --pool "$pool" "$volume" >/dev/null 2>&1; then
  echo "no change: no volume $volume in pool $pool"
  exit 0
fi
virsh -q -c "$uri" vol-delete --pool "$pool" "$volume" >/dev/null
echo "changed: deleted volume $volume in pool $pool"
