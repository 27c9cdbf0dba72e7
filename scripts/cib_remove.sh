#!/usr/bin/env bash
# Undoes cib_apply.sh: deletes the named resources (and with them their constraints) and alerts.
# Usage: cib_remove.sh ID...
set -euo pipefail

# What each ID given is in the CIB on stdin, one "KIND ID" line each (resource, stonith or alert;
# nothing for an ID it lacks): read from the XML, where a pcs "config" per ID and kind costs
# seconds of pcs start-up each on a slow node.
KINDS='import sys, xml.etree.ElementTree as ET
configuration = ET.parse(sys.stdin).getroot().find("configuration")
for wanted in sys.argv[1:]:
    for top in configuration.iterfind("resources/*"):
        if wanted in [top.get("id")] + [child.get("id") for child in top.iter("primitive")]:
            print("stonith" if top.get("class") == "stonith" else "resource", wanted)
    if any(alert.get("id") == wanted for alert in configuration.iterfind("alerts/alert")):
        print("alert", wanted)'

# Read once: a cluster that is not running has nothing to delete (as pcs resource config says).
cib="$(pcs cluster cib 2>/dev/null || true)"
changes=()
if [[ -n "$cib" ]]; then
  while read -r kind owned; do
    case "$kind" in
      alert) pcs alert delete "$owned"; changes+=("deleted alert $owned") ;;
      *) pcs "$kind" delete "$owned" --force; changes+=("deleted $owned") ;;
    esac
  done < <(python3 -c "$KINDS" "$@" <<< "$cib")
fi
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: none of $* exists"
else
  echo "changed: ${changes[*]}"
fi
