#!/usr/bin/env bash
# Fails unless, within the timeout, the VIP answers as a Redis master (with AUTH) and the
# other node is a connected, online replica. Polls; prints the state it last saw.
# Usage: check_redis_ha.sh CLI VIP PORT TIMEOUT_SECONDS < admin-password   (CLI: redis-ha-cli, the admin ACL user)
set -euo pipefail

client="$1" vip="$2" port="$3" timeout_s="$4"
IFS= read -r REDISCLI_AUTH
# The password reaches the client through its environment (redis-cli and valkey-cli both read
# REDISCLI_AUTH), never through argv.
export REDISCLI_AUTH

cli() {
  timeout 10 "$client" -h "$vip" -p "$port" "$@" 2>&1 | tr -d '\r'
}

deadline=$((SECONDS + timeout_s))
last=""
while ((SECONDS < deadline)); do
  role="$(cli ROLE | head -n1 || true)"
  replication="$(cli INFO replication || true)"
  if [[ "$role" == "master" ]] && grep -qx 'connected_slaves:1' <<<"$replication" \
     && grep -q '^slave0:.*state=online' <<<"$replication"; then
    echo "ready: $vip:$port is master on $(crm_resource --locate --resource vip 2>/dev/null | sed 's/.*running on: //');" \
      "replica $(grep '^slave0:' <<<"$replication" | cut -d: -f2)"
    exit 0
  fi
  last="role=${role:-none}; $(grep -E '^(connected_slaves|slave0):' <<<"$replication" | tr '\n' ' ' || true)"
  sleep 2
done
echo "error: $vip:$port not a master with an online replica after ${timeout_s}s (last: $last)" >&2
pcs status >&2 || true
exit 1
