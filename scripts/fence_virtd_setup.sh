#!/usr/bin/env bash
# Hypervisor side of fencing mode xvm: fence_virtd listening for fence_xvm requests on the
# cluster network's bridge, with the cluster's key, acting on domains through libvirt.
# Runs where `pulumi up` runs (the hypervisor). The key arrives on stdin.
# Usage: fence_virtd_setup.sh NETWORK_NAME LIBVIRT_URI < key
set -euo pipefail
if [[ $EUID -ne 0 ]]; then
  exec sudo bash -c "$BASH_EXECUTION_STRING" "$0" "$@"
fi
network="$1"
uri="$2"
conf=/etc/fence_virt.conf
key=/etc/cluster/fence_xvm.key
pidfile=/run/fence_virtd.pid
marker="# Written by redis-ha (fence_virtd_setup.sh); the file it replaced is $conf.redis-ha-orig"

command -v fence_virtd >/dev/null || {
  echo "error: fence_virtd is not installed on this hypervisor (apt install fence-virtd / dnf install fence-virtd fence-virtd-libvirt fence-virtd-multicast)" >&2
  exit 1
}
bridge="$(virsh -c "$uri" net-info "$network" | awk '$1 == "Bridge:" {print $2}')" || true
[[ -n "$bridge" ]] || { echo "error: libvirt network $network on $uri has no bridge (networkName, libvirtUri)" >&2; exit 1; }
listener="$(find /usr/lib64 /usr/lib -name multicast.so -path '*fence-virt*' -print -quit 2>/dev/null)"
[[ -n "$listener" ]] || {
  echo "error: fence_virtd's multicast listener (multicast.so) is not installed (apt install fence-virtd / dnf install fence-virtd-multicast)" >&2
  exit 1
}
module_path="$(dirname "$listener")"
# Each value goes between double quotes in fence_virt.conf, whose parser has no escapes: refuse
# one that could end the string or add configuration (the program validates libvirtUri too).
for value in "$uri" "$bridge" "$module_path"; do
  if [[ "$value" =~ [\"\\{}\;[:space:]] ]]; then
    echo "error: refusing to write ${value@Q} into $conf: quotes, backslashes, braces, semicolons and spaces are not allowed" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/conf" <<CONF
$marker
fence_virtd {
	listener = "multicast";
	backend = "libvirt";
	module_path = "$module_path";
}
listeners {
	multicast {
		key_file = "$key";
		address = "225.0.0.12";
		family = "ipv4";
		port = "1229";
		interface = "$bridge";
	}
}
backends {
	libvirt {
		uri = "$uri";
	}
}
CONF
(umask 077; cat > "$work/key")
[[ -s "$work/key" ]] || { echo "error: no fence key on stdin" >&2; exit 1; }

changes=()
if ! cmp -s "$work/conf" "$conf"; then
  if [[ -f "$conf" ]] && ! grep -qxF "$marker" "$conf" && [[ ! -e "$conf.redis-ha-orig" ]]; then
    cp -p "$conf" "$conf.redis-ha-orig"
    changes+=("kept the previous $conf as $conf.redis-ha-orig")
  fi
  install -m 0644 "$work/conf" "$conf"
  changes+=("wrote $conf (interface $bridge)")
fi
if ! cmp -s "$work/key" "$key"; then
  install -d -m 0755 "$(dirname "$key")"
  install -m 0600 "$work/key" "$key"
  changes+=("wrote $key")
fi

# fence_xvm's requests arrive as multicast on UDP 1229: a hypervisor running firewalld must
# accept them on the bridge (fence_virtd_remove.sh closes what this opened).
if firewall-cmd --state >/dev/null 2>&1; then
  zone="$(firewall-cmd --get-zone-of-interface="$bridge" 2>/dev/null || firewall-cmd --get-default-zone)"
  if ! firewall-cmd --quiet --zone="$zone" --query-port=1229/udp; then
    firewall-cmd --quiet --zone="$zone" --add-port=1229/udp
    firewall-cmd --quiet --permanent --zone="$zone" --add-port=1229/udp
    mkdir -p /etc/cluster && echo "$zone" > /etc/cluster/redis-ha-fence-zone
    changes+=("opened 1229/udp in firewalld zone $zone")
  fi
fi

if [[ -d /run/systemd/system ]]; then
  systemctl is-enabled --quiet fence_virtd || { systemctl enable --quiet fence_virtd; changes+=("enabled fence_virtd"); }
  if [[ ${#changes[@]} -gt 0 ]] || ! systemctl is-active --quiet fence_virtd; then
    systemctl restart fence_virtd
    changes+=("restarted fence_virtd")
  fi
else
  # Without systemd (a container or the lab's network namespace) the daemon is ours to run.
  running=false
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && running=true
  if [[ ${#changes[@]} -gt 0 || "$running" == false ]]; then
    [[ "$running" == true ]] && kill "$(cat "$pidfile")"
    rm -f "$pidfile"
    fence_virtd -w -f "$conf" -p "$pidfile"
    # The daemon writes its pid file after it has detached: wait for it, and for it to stay.
    for _ in $(seq 1 100); do
      [[ -s "$pidfile" ]] && break
      sleep 0.1
    done
    if ! [[ -s "$pidfile" ]] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "error: fence_virtd did not stay up: check $conf and that nothing else holds UDP 1229 on $bridge" >&2
      exit 1
    fi
    changes+=("started fence_virtd (pid $(cat "$pidfile"))")
  fi
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: fence_virtd serving $network ($bridge) with the cluster's key"
else
  echo "changed: ${changes[*]}"
fi
