#!/usr/bin/env bash
# Quorum device, server side: corosync-qnetd on the hypervisor, listening where the nodes reach
# it, and a TLS client certificate for one cluster, signed by qnetd's own CA.
# Runs where `pulumi up` runs (the hypervisor), or there over SSH.
# Prints on stdout only what the nodes need (qnetd's CA certificate and the cluster's
# certificate with its key, as PKCS#12), always the same for the same cluster, so the nodes'
# step re-runs only when this material changes; progress goes to stderr.
# Usage: qnetd_setup.sh CLUSTER_NAME LISTEN_ADDRESS > bundle
set -euo pipefail
if [[ $EUID -ne 0 ]]; then
  exec sudo bash -c "$BASH_EXECUTION_STRING" "$0" "$@"
fi
cluster="$1"
address="$2"
qnetd_dir=/etc/corosync/qnetd
db="$qnetd_dir/nssdb"
# The cluster's key stays here as well as on the nodes: whoever holds this CA can mint a
# certificate for any cluster anyway, and keeping it makes every run print the same bundle.
ours="$qnetd_dir/redis-ha/$cluster"
port=5403
pidfile=/run/corosync-qnetd/corosync-qnetd.pid

for tool in corosync-qnetd corosync-qnetd-certutil corosync-qnetd-tool certutil pk12util; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is missing on this hypervisor (apt install corosync-qnetd / dnf install corosync-qnetd)" >&2
    exit 1
  }
done
interface="$(ip -o -4 addr show to "$address/32" | awk '{print $2; exit}')"
[[ -n "$interface" ]] || {
  echo "error: $address (quorumDeviceAddress) is not an address of this hypervisor" >&2
  exit 1
}

changes=()
if [[ ! -f "$db/cert9.db" ]]; then
  corosync-qnetd-certutil -i -G >&2
  if getent group coroqnetd >/dev/null; then
    chgrp coroqnetd "$db" "$db/cert9.db" "$db/key4.db"
  fi
  changes+=("created qnetd's CA in $db")
fi

if [[ ! -s "$ours/cluster.p12" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  certutil -N -d "$work" --empty-password
  head -c 64 /dev/urandom > "$work/noise"
  certutil -R -s "CN=$cluster" -o "$work/cluster.crq" -d "$work" -z "$work/noise" >/dev/null
  corosync-qnetd-certutil -s -c "$work/cluster.crq" -n "$cluster" >&2
  certutil -A -d "$work" -t "u,u,u" -n "Cluster Cert" -i "$db/cluster-$cluster.crt"
  install -d -m 0700 "$ours"
  pk12util -d "$work" -o "$work/cluster.p12" -W "" -n "Cluster Cert" >/dev/null
  install -m 0600 "$work/cluster.p12" "$ours/cluster.p12"
  changes+=("signed a client certificate for cluster $cluster")
fi

# qnetd's listening socket must be open to the cluster network where firewalld runs;
# qnetd_remove.sh closes what this opened.
if firewall-cmd --state >/dev/null 2>&1; then
  zone="$(firewall-cmd --get-zone-of-interface="$interface" 2>/dev/null || firewall-cmd --get-default-zone)"
  if ! firewall-cmd --quiet --zone="$zone" --query-port="$port/tcp"; then
    firewall-cmd --quiet --zone="$zone" --add-port="$port/tcp"
    firewall-cmd --quiet --permanent --zone="$zone" --add-port="$port/tcp"
    echo "$zone" > "$qnetd_dir/redis-ha/firewall-zone"
    changes+=("opened $port/tcp in firewalld zone $zone")
  fi
fi

answering() {
  corosync-qnetd-tool -s >/dev/null 2>&1
}
if [[ -d /run/systemd/system ]]; then
  if ! systemctl is-enabled --quiet corosync-qnetd; then
    systemctl enable --quiet corosync-qnetd
    touch "$qnetd_dir/redis-ha/enabled-service"
    changes+=("enabled corosync-qnetd")
  fi
  if ! systemctl is-active --quiet corosync-qnetd; then
    systemctl start corosync-qnetd
    changes+=("started corosync-qnetd")
  fi
elif ! answering; then
  # Without systemd (a container or the lab's network namespace) the daemon is ours to run,
  # on the one address the nodes use.
  install -d -m 0770 "$(dirname "$pidfile")"
  corosync-qnetd -l "$address" -p "$port"
  touch "$qnetd_dir/redis-ha/started-daemon"
  changes+=("started corosync-qnetd on $address:$port")
fi
for _ in $(seq 1 100); do
  answering && break
  sleep 0.1
done
answering || { echo "error: corosync-qnetd does not answer corosync-qnetd-tool -s" >&2; exit 1; }

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: corosync-qnetd serving cluster $cluster on $address" >&2
else
  echo "changed: ${changes[*]}" >&2
fi
certutil -L -d "$db" -n "QNet CA" -a
echo "-----BEGIN CLUSTER PKCS12-----"
base64 < "$ours/cluster.p12"
echo "-----END CLUSTER PKCS12-----"
