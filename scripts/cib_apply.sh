#!/usr/bin/env bash
# Render -> compare -> apply for Pacemaker resources, constraints and alerts.
# Reads a plan from stdin: one pcs command per line, arguments separated by tabs, without
# the leading "pcs". The named resources and alerts are removed from a copy of the live CIB and
# the plan rebuilds them there; the copy is pushed only if resources, constraints or alerts differ.
# With --remove (the step's undo) it deletes the named resources (and with them their
# constraints) and alerts from the live cluster instead, through pcs, which stops each first.
# Usage: cib_apply.sh ID... < plan
#        cib_apply.sh --remove ID...
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

if [[ "${1:-}" == --remove ]]; then
  shift
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
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pcs cluster cib > "$work/live.xml"
cp "$work/live.xml" "$work/wanted.xml"

# pcs keeps fence devices apart from other resources: each kind has its own subcommand.
while read -r kind owned; do
  case "$kind" in
    alert) pcs -f "$work/wanted.xml" alert delete "$owned" >/dev/null ;;
    *) pcs -f "$work/wanted.xml" "$kind" delete "$owned" --force >/dev/null 2>&1 ;;
  esac
done < <(python3 -c "$KINDS" "$@" < "$work/wanted.xml")
while IFS=$'\t' read -r -a command; do
  [[ ${#command[@]} -eq 0 ]] && continue
  pcs -f "$work/wanted.xml" "${command[@]}"
done

# Compare only what the plan owns, canonicalised so attribute order does not matter.
if python3 - "$work/live.xml" "$work/wanted.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

def owned(path):
    root = ET.parse(path).getroot()
    sections = [root.find(f"configuration/{name}") for name in ("resources", "constraints", "alerts")]
    # A CIB that never had an alert has no alerts section; one whose alerts all went has an empty one.
    return [ET.canonicalize(ET.tostring(section), strip_text=True) if section is not None and len(section) else ""
            for section in sections]

sys.exit(0 if owned(sys.argv[1]) == owned(sys.argv[2]) else 1)
PY
then
  echo "no change: resources, constraints and alerts for $* as planned"
  exit 0
fi
pcs cluster cib-push "$work/wanted.xml" diff-against="$work/live.xml"
echo "changed: pushed resources, constraints and alerts for $*"
