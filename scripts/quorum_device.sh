#!/usr/bin/env bash
# Gives the running cluster its quorum device: corosync.conf names qnetd (model net, ffsplit,
# the VIP heuristic from qdevice_node.sh, no two_node any more), every node gets that file and
# reloads it, corosync-qdevice runs on both nodes, and both count the device's vote.
# Render -> compare -> apply: pcs edits a copy of corosync.conf, and only a copy that differs
# is handed out.
# Usage: quorum_device.sh QNETD_ADDRESS HEURISTIC WAIT_SECONDS
set -euo pipefail
address="$1" heuristic="$2" wait_s="$3"
conf=/etc/corosync/corosync.conf

has_device() {
  # The only "device {" section corosync.conf has is the quorum device's.
  grep -qE '^\s*device\s*\{' "$1"
}

# corosync-qdevice reads qnetd's address only when it starts, and pcs moves a device to another
# host by removing it and adding it again (certificates included); so does this program, over
# two runs, rather than leave the nodes polling the old host.
current="$(awk '$1 == "host:" {print $2; exit}' "$conf")"
if has_device "$conf" && [[ "$current" != "$address" ]]; then
  echo "error: the running quorum device is $current, quorumDeviceAddress is $address: run \`pulumi up\`" \
       "with quorumDevice none, then with hypervisor again, to move it" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$conf" "$work/corosync.conf"
if has_device "$work/corosync.conf"; then
  pcs --corosync_conf "$work/corosync.conf" quorum device remove
fi
pcs --corosync_conf "$work/corosync.conf" quorum device add model net host="$address" algorithm=ffsplit \
  heuristics mode=sync exec_redis_ha_holds_vip="$heuristic"

changes=()
if ! cmp -s "$work/corosync.conf" "$conf"; then
  cp -p "$conf" "$work/corosync.conf.before"
  install -m 0644 "$work/corosync.conf" "$conf"
  if ! pcs cluster sync --request-timeout="$wait_s" || ! pcs cluster reload corosync; then
    # Put the running configuration back, so the next run sees the difference and tries again.
    install -m 0644 "$work/corosync.conf.before" "$conf"
    echo "error: handing out or reloading corosync.conf with the quorum device failed" >&2
    exit 1
  fi
  changes+=("corosync.conf names quorum device $address (ffsplit, VIP heuristic)")
fi

# Node lines of `corosync-quorumtool -s` whose qdevice state is not "A,V,...": alive (connected
# to qnetd) and voting.
not_voting() {
  corosync-quorumtool -s 2>/dev/null \
    | awk 'started && $1 ~ /^[0-9]+$/ && $1 != 0 && $3 !~ /^A,V/ {print $NF == "(local)" ? $(NF-1) : $NF}
           /Nodeid/ {started = 1}'
}
if [[ -n "$(not_voting)" ]]; then
  # pcs starts corosync-qdevice along with the cluster wherever corosync.conf names a device;
  # corosync and pacemaker, already running, are left alone.
  pcs cluster start --all --request-timeout="$wait_s" >/dev/null
  changes+=("started corosync-qdevice")
fi
deadline=$((SECONDS + wait_s))
until [[ -z "$(not_voting)" ]] && corosync-quorumtool -s | grep -q 'Qdevice$'; do
  if ((SECONDS > deadline)); then
    echo "error: after ${wait_s}s the quorum device's vote is not counted on: $(not_voting | tr '\n' ' ')" >&2
    corosync-quorumtool -s >&2 || true
    exit 1
  fi
  sleep 2
done

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: quorum device $address counted by both nodes"
else
  echo "changed: ${changes[*]}"
fi
