#!/usr/bin/env bash
# Takes NODE out of the cluster before its VM is deleted (a replacement), run on the other node:
# standby moves every resource here (with NODE's Redis master, a planned switchover: this node's
# replica is promoted, then the VIP follows), then NODE's cluster services stop, so this node
# sees a clean leave instead of a lost node to fence. Refuses when this node's Redis could not
# take over (not an in-sync replica): draining NODE would then stop Redis. After the cluster or
# its Redis was removed, there is nothing to move (`pulumi destroy` skips the drain altogether).
# Usage: node_drain.sh CLUSTER_NAME NODE HERE_ADDR REDIS_RESOURCE CLI PORT TIMEOUT_SECONDS
#        < hacluster-password NL admin-password   (node_rejoin.sh's stdin: the step's create and delete share it)
set -euo pipefail

name="$1" node="$2" here="$3" resource="$4" client="$5" port="$6" timeout_s="$7"
IFS= read -r _
IFS= read -r REDISCLI_AUTH
# redis-cli and valkey-cli both read the password from REDISCLI_AUTH, never from argv.
export REDISCLI_AUTH
conf=/etc/corosync/corosync.conf

if [[ ! -f "$conf" ]] || ! grep -q "cluster_name: $name\$" "$conf"; then
  echo "no change: cluster $name is not configured here"
  exit 0
fi
if ! crm_node -l 2>/dev/null | awk -v node="$node" '$2 == node && $3 == "member" {found = 1} END {exit !found}'; then
  echo "no change: $node is not running in cluster $name"
  exit 0
fi

if pcs resource config "$resource" >/dev/null 2>&1; then
  replication="$(timeout 10 "$client" -h "$here" -p "$port" INFO replication 2>&1 | tr -d '\r' || true)"
  if ! grep -qx 'role:master' <<<"$replication" && ! { grep -qx 'role:slave' <<<"$replication" \
       && grep -qx 'master_link_status:up' <<<"$replication" && grep -qx 'master_sync_in_progress:0' <<<"$replication"; }; then
    seen="$(grep -E '^(role|master_link_status|master_sync_in_progress):' <<<"$replication" | tr '\n' ' ' || true)"
    echo "error: draining $node would stop Redis: the Redis here is neither master nor an in-sync replica" \
      "(${seen:-no answer}). Bring it back first (pcs status; pcs resource cleanup $resource), then run pulumi up again." >&2
    exit 1
  fi
fi

pcs node standby "$node" --wait="$timeout_s"
pcs cluster stop "$node" --request-timeout="$timeout_s"
echo "changed: $node in standby (its resources moved here; the VIP is on" \
  "$(crm_resource --locate --resource vip 2>/dev/null | sed 's/.*running on: //' || echo nowhere))" \
  "and its cluster services stopped"
