#!/usr/bin/env bash
# Render -> compare -> apply for Pacemaker resources, constraints and alerts.
# Reads a plan from stdin: one pcs command per line, arguments separated by tabs, without
# the leading "pcs". The named resources and alerts are removed from a copy of the live CIB and
# the plan rebuilds them there; the copy is pushed only if resources, constraints or alerts differ.
# Usage: cib_apply.sh ID... < plan
set -euo pipefail

# Whether the CIB on stdin configures an alert with the id $1 (pcs has no "alert config ID").
HAS_ALERT='import sys, xml.etree.ElementTree as ET
alerts = ET.parse(sys.stdin).iterfind("configuration/alerts/alert")
sys.exit(0 if any(alert.get("id") == sys.argv[1] for alert in alerts) else 1)'
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pcs cluster cib > "$work/live.xml"
cp "$work/live.xml" "$work/wanted.xml"

for owned in "$@"; do
  # pcs keeps fence devices apart from other resources: each has its own subcommand.
  for kind in resource stonith; do
    if pcs -f "$work/wanted.xml" "$kind" config "$owned" >/dev/null 2>&1; then
      pcs -f "$work/wanted.xml" "$kind" delete "$owned" --force >/dev/null 2>&1
    fi
  done
  if python3 -c "$HAS_ALERT" "$owned" < "$work/wanted.xml"; then
    pcs -f "$work/wanted.xml" alert delete "$owned" >/dev/null
  fi
done
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
