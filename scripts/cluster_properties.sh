#!/usr/bin/env bash
# Sets Pacemaker cluster properties that differ from the wanted values.
# Usage: cluster_properties.sh NAME=VALUE...
set -euo pipefail

changes=()
for pair in "$@"; do
  name="${pair%%=*}"
  value="${pair#*=}"
  current="$(crm_attribute --type crm_config --name "$name" --query --quiet 2>/dev/null || true)"
  if [[ "$current" != "$value" ]]; then
    pcs property set "$name=$value"
    changes+=("$name=$value")
  fi
done
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: cluster properties $*"
else
  echo "changed: ${changes[*]}"
fi
