#!/usr/bin/env bash
# Waits until cloud-init has finished on this node, so that later steps see the final
# hostname, /etc/hosts, users and bond. Polls cloud-init itself instead of sleeping.
# Usage: wait_ready.sh TIMEOUT_SECONDS
set -euo pipefail

timeout_s="$1"

if ! command -v cloud-init >/dev/null 2>&1; then
  echo "no change: cloud-init is not installed, nothing to wait for"
  exit 0
fi

status=0
timeout "$timeout_s" cloud-init status --wait >/dev/null || status=$?
case "$status" in
  0) echo "ready: cloud-init done on $(hostname)" ;;
  # 2 is "done with recoverable errors" on newer cloud-init: the node is usable.
  2) echo "ready: cloud-init done with recoverable errors on $(hostname)" ;;
  124)
    echo "error: cloud-init still running after ${timeout_s}s on $(hostname); see /var/log/cloud-init.log" >&2
    exit 1 ;;
  *)
    echo "error: cloud-init failed on $(hostname):" >&2
    cloud-init status --long >&2 || true
    exit 1 ;;
esac
