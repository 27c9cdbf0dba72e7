#!/usr/bin/env bash
# Undoes cib_apply.sh: deletes the named resources (and with them their constraints) and alerts.
# Usage: cib_remove.sh ID...
set -euo pipefail

# Whether the CIB on stdin configures an alert with the id $1 (pcs has no "alert config ID").
HAS_ALERT='import sys, xml.etree.ElementTree as ET
alerts = ET.parse(sys.stdin).iterfind("configuration/alerts/alert")
sys.exit(0 if any(alert.get("id") == sys.argv[1] for alert in alerts) else 1)'

# Read once: a cluster that is not running has nothing to delete (as pcs resource config says).
cib="$(pcs cluster cib 2>/dev/null || true)"
changes=()
for owned in "$@"; do
  for kind in resource stonith; do
    if pcs "$kind" config "$owned" >/dev/null 2>&1; then
      pcs "$kind" delete "$owned" --force
      changes+=("deleted $owned")
    fi
  done
  if [[ -n "$cib" ]] && python3 -c "$HAS_ALERT" "$owned" <<< "$cib"; then
    pcs alert delete "$owned"
    changes+=("deleted alert $owned")
  fi
done
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: none of $* exists"
else
  echo "changed: ${changes[*]}"
fi
