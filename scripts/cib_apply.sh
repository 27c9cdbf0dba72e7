#!/usr/bin/env bash
# Render -> compare -> apply for Pacemaker resources and constraints.
# Reads a plan from stdin: one pcs command per line, arguments separated by tabs, without
# the leading "pcs". The named resources are removed from a copy of the live CIB and the
# plan rebuilds them there; the copy is pushed only if resources or constraints differ.
# Usage: cib_apply.sh RESOURCE_ID... < plan
set -euo pipefail

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pcs cluster cib > "$work/live.xml"
cp "$work/live.xml" "$work/wanted.xml"

for resource in "$@"; do
  # pcs keeps fence devices apart from other resources: each has its own subcommand.
  for kind in resource stonith; do
    if pcs -f "$work/wanted.xml" "$kind" config "$resource" >/dev/null 2>&1; then
      pcs -f "$work/wanted.xml" "$kind" delete "$resource" --force >/dev/null 2>&1
    fi
  done
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
    return [ET.canonicalize(ET.tostring(root.find(f"configuration/{section}")), strip_text=True)
            for section in ("resources", "constraints")]

sys.exit(0 if owned(sys.argv[1]) == owned(sys.argv[2]) else 1)
PY
then
  echo "no change: resources and constraints for $* as planned"
  exit 0
fi
pcs cluster cib-push "$work/wanted.xml" diff-against="$work/live.xml"
echo "changed: pushed resources and constraints for $*"
