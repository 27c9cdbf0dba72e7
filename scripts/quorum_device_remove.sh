#!/usr/bin/env bash
# Undoes quorum_device.sh the way pcs does: corosync-qdevice stopped and disabled on every node
# (so it leaves votequorum cleanly) and its certificates removed, then corosync.conf without
# the device (pcs puts two_node back) handed to every node and reloaded. Removing needs only
# the nodes' pcsd, not qnetd's.
# Usage: quorum_device_remove.sh WAIT_SECONDS
set -euo pipefail
wait_s="$1"
conf=/etc/corosync/corosync.conf

# The only "device {" section corosync.conf has is the quorum device's.
if [[ ! -f "$conf" ]] || ! grep -qE '^\s*device\s*\{' "$conf"; then
  echo "no change: corosync.conf names no quorum device"
  exit 0
fi
pcs quorum device remove --request-timeout="$wait_s"
echo "changed: corosync-qdevice stopped on every node, corosync.conf names no quorum device (two_node)"
