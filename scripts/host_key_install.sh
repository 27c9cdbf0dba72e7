#!/usr/bin/env bash
# Node side, at boot before sshd starts (cloud-init's bootcmd): installs the SSH host key that
# host_key_volume.sh wrote into a volume of this node's domain, and makes sshd present that key
# alone, the one every connection of the program pins. A node without the volume fails here, and
# its sshd then presents no key the program accepts.
# Usage: host_key_install.sh [DEVICE...]   (default: the virtio disks after the root disk)
set -euo pipefail
begin="-----BEGIN OPENSSH PRIVATE KEY-----"
end="-----END OPENSSH PRIVATE KEY-----"
private=/etc/ssh/ssh_host_ed25519_key
only_this_key=/etc/ssh/sshd_config.d/10-redis-ha-host-key.conf

if [[ $# -eq 0 ]]; then
  set -- /dev/vd[b-z]
fi
key=""
for device in "$@"; do
  [[ -r "$device" ]] || continue
  if [[ "$(head -c "${#begin}" "$device" | tr -d '\0')" == "$begin" ]]; then
    key="$(tr -d '\0' < "$device" | sed -n "/^$begin\$/,/^$end\$/p")"
    break
  fi
done
[[ -n "$key" ]] || { echo "error: no host key volume among $*" >&2; exit 1; }

changes=()
umask 077
mkdir -p /etc/ssh/sshd_config.d
if [[ ! -f "$private" || "$(cat "$private")" != "$key" ]]; then
  printf '%s\n' "$key" > "$private.new"
  ssh-keygen -y -f "$private.new" > "$private.pub.new"
  chmod 644 "$private.pub.new"
  mv "$private.new" "$private"
  mv "$private.pub.new" "$private.pub"
  changes+=("installed the host key")
fi
# Keys of other types (baked into an image, or made by a first boot's ssh-keygen -A) would be
# offered to clients that negotiate their type, and fail the program's pinning.
while IFS= read -r -d '' other; do
  rm -f "$other"
  changes+=("removed ${other##*/}")
done < <(find /etc/ssh -maxdepth 1 -name 'ssh_host_*' ! -name 'ssh_host_ed25519_key' ! -name 'ssh_host_ed25519_key.pub' -print0 | sort -z)
if [[ ! -f "$only_this_key" || "$(cat "$only_this_key")" != "HostKey $private" ]]; then
  printf 'HostKey %s\n' "$private" > "$only_this_key"
  chmod 644 "$only_this_key"
  changes+=("sshd presents $private alone")
fi
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: host key installed"
else
  echo "changed: ${changes[*]}"
fi
