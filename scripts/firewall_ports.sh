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

changes=()
declare -A wanted=()
for cidr in "$@"; do
  for port in "${ports[@]}"; do
    wanted["$(rule "$cidr" "$port")"]=1
  done
done

while IFS= read -r existing; do
  for port in "${ports[@]}"; do
    if [[ "$existing" == *"port port=\"$port\" protocol=\"tcp\" accept"* && -z "${wanted[$existing]:-}" ]]; then
      firewall-cmd --quiet --permanent --remove-rich-rule="$existing"
      changes+=("closed: $existing")
    fi
  done
done < <(firewall-cmd --permanent --list-rich-rules)

for wanted_rule in "${!wanted[@]}"; do
  if ! firewall-cmd --quiet --permanent --query-rich-rule="$wanted_rule"; then
    firewall-cmd --quiet --permanent --add-rich-rule="$wanted_rule"
    changes+=("opened: $wanted_rule")
  fi
done

if [[ ${#changes[@]} -eq 0 ]]; then
  if [[ $# -eq 0 ]]; then
    echo "no change: $what port ${ports[*]} open to no network"
  else
    echo "no change: $what port ${ports[*]} open to $* only"
  fi
  exit 0
fi
firewall-cmd --quiet --reload
printf 'changed: %s\n' "${changes[@]}"
