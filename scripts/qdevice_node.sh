#!/usr/bin/env bash
# Quorum device, node side: the certificates corosync-qdevice shows qnetd (qnetd's CA and the
# cluster's client certificate, from qnetd_setup.sh on stdin) and the heuristic that tells
# qnetd which side of a split holds the Redis master. Starts nothing: quorum_device.sh does,
# once corosync.conf names the device.
# Usage: qdevice_node.sh VIP HEURISTIC_PATH < bundle
# The heuristic takes no arguments: the VIP is written into it.
set -euo pipefail
vip="$1" heuristic="$2"
db=/etc/corosync/qdevice/net/nssdb
stamp="$db/redis-ha-bundle.sha256"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(umask 077; cat > "$work/bundle")
sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$work/bundle" > "$work/ca.crt"
sed -n '/-----BEGIN CLUSTER PKCS12-----/,/-----END CLUSTER PKCS12-----/{/-----/d;p}' "$work/bundle" \
  | base64 -d > "$work/cluster.p12"
[[ -s "$work/ca.crt" && -s "$work/cluster.p12" ]] || {
  echo "error: stdin holds no qnetd CA certificate and cluster PKCS#12 (qnetd_setup.sh's output)" >&2
  exit 1
}

cat > "$work/heuristic" <<HEURISTIC
#!/bin/sh
# corosync-qdevice heuristic (redis-ha): passes only on the node holding the write VIP $vip,
# the Redis master's node, so that in a split qnetd gives its vote to the master's side.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ -n "\$(ip -o -4 addr show to $vip/32)" ]
HEURISTIC

changes=()
if ! cmp -s "$work/heuristic" "$heuristic"; then
  install -m 0755 "$work/heuristic" "$heuristic"
  changes+=("wrote $heuristic")
fi

wanted="$(sha256sum < "$work/bundle" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]] \
   || ! certutil -L -d "$db" -n "QNet CA" >/dev/null 2>&1 \
   || ! certutil -L -d "$db" -n "Cluster Cert" >/dev/null 2>&1; then
  rm -rf "$db"
  corosync-qdevice-net-certutil -i -c "$work/ca.crt" >/dev/null
  corosync-qdevice-net-certutil -m -c "$work/cluster.p12" >/dev/null
  echo "$wanted" > "$stamp"
  changes+=("imported qnetd's CA and the cluster certificate into $db")
  if systemctl is-active --quiet corosync-qdevice; then
    systemctl restart corosync-qdevice
    changes+=("restarted corosync-qdevice")
  fi
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: qdevice certificates and heuristic for VIP $vip in place"
else
  echo "changed: ${changes[*]}"
fi
