#!/usr/bin/env bash
# Undoes cib_apply.sh: deletes the named resources (and with them their constraints).
# Usage: cib_remove.sh RESOURCE_ID...
set -euo pipefail

changes=()
for resource in "$@"; do
  for kind in resource stonith; do
    if pcs "$kind" config "$resource" >/dev/null 2>&1; then
      pcs "$kind" delete "$resource" --force
      changes+=("deleted $resource")
    fi
  done
done
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: none of $* exists"
else
  echo "changed: ${changes[*]}"
fi
