#!/usr/bin/env bash
# Installs the fence_xvm key (shared with fence_virtd on the hypervisor), read from stdin.
# Usage: fence_key.sh < key
set -euo pipefail
key=/etc/cluster/fence_xvm.key

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(umask 077; cat > "$work/key")
[[ -s "$work/key" ]] || { echo "error: no fence key on stdin" >&2; exit 1; }
if cmp -s "$work/key" "$key"; then
  echo "no change: $key holds the cluster's key"
  exit 0
fi
install -d -m 0755 "$(dirname "$key")"
install -m 0600 -o root -g root "$work/key" "$key"
echo "changed: wrote $key"
