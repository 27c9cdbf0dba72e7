#!/usr/bin/env bash
# Mounts the node's data volume at the Redis server's data directory: formats it once (only a
# blank disk: a disk holding anything else is refused, never formatted), mounts it by label at
# every boot, and hands the directory to the server's user. The volume outlives the VM, so a
# replaced node finds its data again.
# Usage: data_volume.sh DEVICE DATA_DIR OWNER
#   e.g. /dev/vdc /var/lib/redis redis
set -euo pipefail

device="$1" data_dir="$2" owner="$3"
label=redis-ha-data
fstab_line="LABEL=$label $data_dir ext4 defaults,nofail 0 2"
changes=()

[[ -e "$device" ]] || { echo "error: $device does not exist: the data volume is the domain's third disk" >&2; exit 1; }
if [[ "$(blkid -o value -s LABEL "$device" || true)" != "$label" ]]; then
  # blkid exits 2 when it finds no signature at all: only then is the disk blank.
  status=0
  found="$(blkid "$device")" || status=$?
  if [[ "$status" -ne 2 ]]; then
    echo "error: $device is not blank and not a redis-ha data volume (${found:-blkid failed}): not formatting it" >&2
    exit 1
  fi
  mkfs.ext4 -q -L "$label" "$device"
  changes+=("formatted $device")
fi

if ! grep -qxF "$fstab_line" /etc/fstab; then
  grep -v "^LABEL=$label " /etc/fstab > /etc/fstab.redis-ha || true
  printf '%s\n' "$fstab_line" >> /etc/fstab.redis-ha
  mv /etc/fstab.redis-ha /etc/fstab
  changes+=("mounted by label at boot")
fi
mkdir -p "$data_dir"
if ! mountpoint -q "$data_dir"; then
  mount "$data_dir"
  changes+=("mounted at $data_dir")
fi
if [[ "$(stat -c %U:%a "$data_dir")" != "$owner:750" ]]; then
  chown "$owner:$owner" "$data_dir"
  chmod 0750 "$data_dir"
  changes+=("owned by $owner")
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: data volume mounted at $data_dir"
else
  echo "changed: ${changes[*]}"
fi
