#!/usr/bin/env bash
# Authenticates pcs on this node to both nodes: the tokens go to this node's
# /var/lib/pcsd/known-hosts. Every node runs it, so pcs commands that go through pcsd work from
# either node (the cluster is formed without `pcs cluster setup`'s remote step, which would
# otherwise hand known-hosts out).
# Usage: cluster_auth.sh NODE1 ADDR1 NODE2 ADDR2 < hacluster-password
set -euo pipefail

node1="$1" addr1="$2" node2="$3" addr2="$4"

if pcs status pcsd "$node1" "$node2" 2>/dev/null | grep -c ': Online' | grep -qx 2; then
  echo "no change: pcs already authenticated to $node1 and $node2"
  exit 0
fi
# pcs reads the password from stdin when it is not a terminal.
pcs host auth "$node1" addr="$addr1" "$node2" addr="$addr2" -u hacluster
echo "changed: authenticated pcs to $node1 and $node2"
