#!/usr/bin/env bash
# Creates the two-node corosync cluster (knet, two_node) unless these nodes already form it,
# so a re-run never destroys a running cluster; updates the totem timing in place; starts it.
# Usage: cluster_setup.sh NAME NODE1 ADDR1 NODE2 ADDR2 TOKEN_MS CONSENSUS_MS WAIT_SECONDS
set -euo pipefail

name="$1" node1="$2" addr1="$3" node2="$4" addr2="$5" token="$6" consensus="$7" wait_s="$8"
conf=/etc/corosync/corosync.conf
changes=()

conf_value() {
  # First "key: value" in corosync.conf, empty when absent.
  awk -v key="$1:" '$1 == key {print $2; exit}' "$conf" 2>/dev/null || true
}

ours=false
if [[ -f "$conf" && "$(conf_value cluster_name)" == "$name" ]] \
   && grep -q "name: $node1\$" "$conf" && grep -q "name: $node2\$" "$conf"; then
  ours=true
fi

if [[ "$ours" == false ]]; then
  # Distribution packages ship a placeholder corosync.conf (and may have started corosync
  # with it): --force lets pcs replace that, which is safe because it is not our cluster.
  # pcsd answers slowly on loaded or emulated nodes: a request once outlived pcs's fixed 60 s
  # while it cleared the nodes' old configuration (setup takes no --request-timeout). A failed
  # setup is tried again: with --force, pcs clears and redoes all of it.
  for attempt in 1 2 3; do
    if pcs cluster setup "$name" "$node1" addr="$addr1" "$node2" addr="$addr2" \
         totem token="$token" consensus="$consensus" --force; then
      break
    fi
    [[ $attempt -lt 3 ]] || exit 1
    echo "pcs cluster setup failed (attempt $attempt of 3); trying again" >&2
  done
  changes+=("created cluster $name")
elif [[ "$(conf_value token)" != "$token" || "$(conf_value consensus)" != "$consensus" ]]; then
  pcs cluster config update totem token="$token" consensus="$consensus"
  if systemctl is-active --quiet corosync; then
    pcs cluster reload corosync
  fi
  changes+=("set totem token=$token consensus=$consensus")
fi

members() {
  crm_node -l 2>/dev/null | awk '$3 == "member" {print $2}' | sort | tr '\n' ' '
}
expected="$(printf '%s\n' "$node1" "$node2" | sort | tr '\n' ' ')"
if [[ "$(members)" != "$expected" ]]; then
  pcs cluster start --all --wait="$wait_s" --request-timeout="$wait_s"
  changes+=("started cluster on $node1 and $node2")
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: cluster $name formed by $node1 and $node2"
else
  echo "changed: ${changes[*]}"
fi
