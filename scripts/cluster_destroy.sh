#!/usr/bin/env bash
# Undoes cluster_setup.sh: stops the cluster and removes its configuration on both nodes.
# Usage: cluster_destroy.sh NAME
set -euo pipefail

name="$1"
if [[ ! -f /etc/corosync/corosync.conf ]] || ! grep -q "cluster_name: $name\$" /etc/corosync/corosync.conf; then
  echo "no change: cluster $name is not configured here"
  exit 0
fi
pcs cluster destroy --all
echo "changed: destroyed cluster $name"
