#!/usr/bin/env bash
# A node's SSH host key, from stdin into a small raw volume in the storage pool, written with virsh
# over the stack's libvirtUri where `pulumi up` runs. The node's domain attaches the volume and its
# first boot installs the key from it (host_key_install.sh). The key does not go in the cloud-init
# seed because pulumi-libvirt logs a seed's whole user data; a volume's contents it never sees.
# Prints the volume's key (libvirt's id for the domain's disk) alone on stdout, the report on stderr.
# Usage: host_key_volume.sh LIBVIRT_URI POOL VOLUME < private_key
set -euo pipefail
uri="$1"
pool="$2"
volume="$3"
# The whole volume is written, padding included, so that the comparison below is exact.
size=65536

key="$(cat)"
[[ "$key" == "-----BEGIN OPENSSH PRIVATE KEY-----"* ]] || { echo "error: stdin is not an OpenSSH private key" >&2; exit 1; }
contents() {
  { printf '%s\n' "$key"; head -c "$size" /dev/zero; } | head -c "$size"
}

virsh_() { virsh -q -c "$uri" "$@"; }
if virsh_ vol-info --pool "$pool" "$volume" >/dev/null 2>&1; then
  if [[ "$(virsh_ vol-download --pool "$pool" "$volume" /dev/stdout | sha256sum)" == "$(contents | sha256sum)" ]]; then
    echo "no change: volume $volume in pool $pool holds the host key" >&2
    virsh_ vol-key --pool "$pool" "$volume"
    exit 0
  fi
  report="changed: wrote the host key into volume $volume in pool $pool"
else
  virsh_ vol-create-as "$pool" "$volume" "${size}b" --format raw >/dev/null
  report="changed: created volume $volume in pool $pool with the host key"
fi
contents | virsh_ vol-upload --pool "$pool" "$volume" /dev/stdin
echo "$report" >&2
virsh_ vol-key --pool "$pool" "$volume"
