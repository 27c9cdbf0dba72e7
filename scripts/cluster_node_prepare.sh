#!/usr/bin/env bash
# Clears a cluster configuration on this node that is not ours: Debian ships a placeholder
# corosync.conf and starts corosync and pacemaker with it at install, which would keep
# running beside the cluster that pcs sets up. Our own cluster is never touched.
# Usage: cluster_node_prepare.sh CLUSTER_NAME
set -euo pipefail

name="$1"
conf=/etc/corosync/corosync.conf
if [[ -f "$conf" ]] && awk -v name="$name" '$1 == "cluster_name:" && $2 == name {found=1} END {exit !found}' "$conf"; then
  echo "no change: node belongs to cluster $name"
  exit 0
fi
if [[ ! -f "$conf" ]] && ! systemctl is-active --quiet corosync && ! systemctl is-active --quiet pacemaker; then
  echo "no change: no cluster configuration and no cluster services running"
  exit 0
fi
# Local only (no --all): stops corosync/pacemaker here and removes their configuration.
pcs cluster destroy
echo "changed: removed the placeholder cluster configuration and stopped its services"
