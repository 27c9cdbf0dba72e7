#!/usr/bin/env bash
# Brings NODE back into the cluster after its VM was replaced (same name and address, a new
# machine without the cluster's configuration), run on the other node: authenticates pcs to the
# new pcsd, hands it the corosync authkey and configuration this node has, starts it, takes it
# out of standby (node_drain.sh put it there), and waits until its Redis replicates from the
# master with the initial sync done. Before the cluster is formed (the first `pulumi up`), or
# with Redis not yet in the cluster, there is nothing to wait for. The same brings back a node
# whose VM stopped and started again, or that was fenced: the program passes REQUESTED (when
# it found NODE out of the cluster), which makes `pulumi up` run this step again.
# Usage: node_rejoin.sh CLUSTER_NAME NODE ADDR REDIS_RESOURCE CLI PORT TIMEOUT_SECONDS [REQUESTED]
#        < hacluster-password NL admin-password (Redis's admin ACL user, CLI: redis-ha-cli)
set -euo pipefail

name="$1" node="$2" addr="$3" resource="$4" client="$5" port="$6" timeout_s="$7" requested="${8:-}"
IFS= read -r hacluster_password
IFS= read -r REDISCLI_AUTH
# redis-cli and valkey-cli both read the password from REDISCLI_AUTH, never from argv.
export REDISCLI_AUTH
conf=/etc/corosync/corosync.conf
deadline=$((SECONDS + timeout_s))
changes=()

if [[ ! -f "$conf" ]] || ! grep -q "cluster_name: $name\$" "$conf"; then
  echo "no change: cluster $name is not formed here yet (the first up forms it with $node)"
  exit 0
fi

is_member() {
  crm_node -l 2>/dev/null | awk -v node="$node" '$2 == node && $3 == "member" {found = 1} END {exit !found}'
}

if ! is_member; then
  # A VM that was just started again is still booting: its pcsd answers tens of seconds later.
  until pcs status pcsd "$node" 2>/dev/null | grep -q ": Online"; do
    # pcs reads the password from stdin when it is not a terminal.
    if said="$(printf '%s\n' "$hacluster_password" | pcs host auth "$node" addr="$addr" -u hacluster 2>&1)"; then
      changes+=("authenticated pcs to $node")
      break
    fi
    if [[ "$said" == *"password is incorrect"* ]] || ((SECONDS >= deadline)); then
      echo "error: pcsd on $node does not let this node in after ${timeout_s}s: $said" >&2
      exit 1
    fi
    sleep 3
  done
  # The same key and configuration this node runs with: the cluster's membership is unchanged.
  pcs cluster authkey corosync /etc/corosync/authkey --request-timeout="$timeout_s"
  pcs cluster sync --request-timeout="$timeout_s"
  pcs cluster start "$node" --wait="$timeout_s" --request-timeout="$timeout_s"
  changes+=("handed $node the cluster's authkey and corosync.conf and started it")
fi

if [[ "$(crm_attribute --node "$node" --name standby --query --quiet 2>/dev/null || true)" == "on" ]]; then
  pcs node unstandby "$node" --wait="$timeout_s"
  changes+=("took $node out of standby")
fi

if ! pcs resource config "$resource" >/dev/null 2>&1; then
  note="; Redis is not in the cluster yet"
else
  last=""
  while :; do
    replication="$(timeout 10 "$client" -h "$addr" -p "$port" INFO replication 2>&1 | tr -d '\r' || true)"
    if grep -qx 'role:slave' <<<"$replication" && grep -qx 'master_link_status:up' <<<"$replication" \
       && grep -qx 'master_sync_in_progress:0' <<<"$replication"; then
      break
    fi
    last="$(grep -E '^(role|master_host|master_link_status|master_sync_in_progress):' <<<"$replication" \
      | tr '\n' ' ' || true)"
    if ((SECONDS >= deadline)); then
      echo "error: $node's Redis does not replicate from a master after ${timeout_s}s (last: ${last:-no answer})" >&2
      pcs status >&2 || true
      exit 1
    fi
    sleep 2
  done
  note="; its Redis replicates from $(awk -F: '$1 == "master_host" {print $2}' <<<"$replication")"
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: $node is a member of cluster $name$note"
else
  echo "changed: ${changes[*]}$note${requested:+ (found out of the cluster at $requested)}"
fi
