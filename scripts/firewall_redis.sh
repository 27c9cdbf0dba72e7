#!/usr/bin/env bash
# Opens the Redis port to the given networks only, and closes it to networks no longer listed.
# Usage: firewall_redis.sh PORT CIDR...
set -euo pipefail

port="$1"
shift
rule() {
  printf 'rule family="ipv4" source address="%s" port port="%s" protocol="tcp" accept' "$1" "$port"
}

changes=()
declare -A wanted=()
for cidr in "$@"; do
  wanted["$(rule "$cidr")"]=1
done

while IFS= read -r existing; do
  if [[ "$existing" == *"port port=\"$port\" protocol=\"tcp\" accept"* && -z "${wanted[$existing]:-}" ]]; then
    firewall-cmd --quiet --permanent --remove-rich-rule="$existing"
    changes+=("closed: $existing")
  fi
done < <(firewall-cmd --permanent --list-rich-rules)

for wanted_rule in "${!wanted[@]}"; do
  if ! firewall-cmd --quiet --permanent --query-rich-rule="$wanted_rule"; then
    firewall-cmd --quiet --permanent --add-rich-rule="$wanted_rule"
    changes+=("opened: $wanted_rule")
  fi
done

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: Redis port $port open to $* only"
  exit 0
fi
firewall-cmd --quiet --reload
printf 'changed: %s\n' "${changes[@]}"
