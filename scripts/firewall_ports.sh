#!/usr/bin/env bash
# Opens TCP ports to the given networks only, and closes them to networks no longer listed (to
# every network when none is given): Redis's port, and the exporters' (monitoring exporters).
# Usage: firewall_ports.sh WHAT PORT[,PORT...] [CIDR...]
#   e.g. firewall_ports.sh Redis 6379 192.168.150.0/24
set -euo pipefail

what="$1"
IFS=, read -r -a ports <<<"$2"
shift 2
rule() {  # CIDR PORT
  printf 'rule family="ipv4" source address="%s" port port="%s" protocol="tcp" accept' "$1" "$2"
}

declare -A wanted=()
for cidr in "$@"; do
  for port in "${ports[@]}"; do
    wanted["$(rule "$cidr" "$port")"]=1
  done
done

# The saved configuration and the running one, each changed rule by rule, without --reload: a
# reload rebuilds every table, and on a loaded emulated node firewalld took longer to answer it
# than firewall-cmd waits on D-Bus (25 s; an e2e run here, 2026-11-28: exit 254, nothing printed).
# shellcheck source=scripts/lib/firewall.sh
source "$(dirname "$0")/lib/firewall.sh"
changes=()
declare -A reported=()
report() {
  if [[ -z "${reported[$1]:-}" ]]; then
    reported["$1"]=1
    changes+=("$1")
  fi
}
for layer in permanent runtime; do
  scope=()
  if [[ "$layer" == permanent ]]; then scope=(--permanent); fi
  declare -A present=()
  # Listed first: a failed list inside the loop's redirection would go unnoticed, and the
  # networks no longer wanted would stay open.
  listed="$(firewall "${scope[@]}" --list-rich-rules)"
  while IFS= read -r existing; do
    [[ -n "$existing" ]] || continue
    present["$existing"]=1
    for port in "${ports[@]}"; do
      if [[ "$existing" == *"port port=\"$port\" protocol=\"tcp\" accept"* && -z "${wanted[$existing]:-}" ]]; then
        firewall "${scope[@]}" --remove-rich-rule="$existing" >/dev/null
        report "closed: $existing"
      fi
    done
  done <<<"$listed"
  for wanted_rule in "${!wanted[@]}"; do
    if [[ -z "${present[$wanted_rule]:-}" ]]; then
      firewall "${scope[@]}" --add-rich-rule="$wanted_rule" >/dev/null
      report "opened: $wanted_rule"
    fi
  done
  unset present
done

if [[ ${#changes[@]} -eq 0 ]]; then
  if [[ $# -eq 0 ]]; then
    echo "no change: $what port ${ports[*]} open to no network"
  else
    echo "no change: $what port ${ports[*]} open to $* only"
  fi
  exit 0
fi
printf 'changed: %s\n' "${changes[@]}"
