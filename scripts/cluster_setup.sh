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
  # Not `pcs cluster setup` over the network: that first has every node's pcsd run `pcs
  # cluster destroy`, which takes about a minute on slow (emulated) nodes, and pcs abandons
  # that request after a fixed 60 s (setup takes no --request-timeout). Clearing a foreign
  # configuration is cluster_node_prepare.sh's job, over SSH without that limit. Here pcs
  # writes the same corosync.conf locally, then pcsd hands the corosync authkey and the
  # configuration to both nodes: small requests, which do take the timeout below.
  pcs cluster setup "$name" "$node1" addr="$addr1" "$node2" addr="$addr2" \
    totem token="$token" consensus="$consensus" --corosync_conf "$conf" --overwrite
  # The configuration marks this node as a member, so it goes again if handing it out fails:
  # the next run then starts over instead of taking a half-made cluster for ours.
  if ! pcs cluster authkey corosync --request-timeout="$wait_s" \
     || ! pcs cluster sync --request-timeout="$wait_s"; then
    rm -f "$conf"
    echo "handing the corosync authkey and configuration to $node1 and $node2 failed" >&2
    exit 1
  fi
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
