#!/usr/bin/env bash
# Undoes fence_virtd_setup.sh: stops fence_virtd, removes its key and puts back the config
# it replaced.
# Usage: fence_virtd_remove.sh
set -euo pipefail
if [[ $EUID -ne 0 ]]; then
  exec sudo bash -c "$BASH_EXECUTION_STRING" "$0" "$@"
fi
conf=/etc/fence_virt.conf
key=/etc/cluster/fence_xvm.key
pidfile=/run/fence_virtd.pid

changes=()
if [[ -d /run/systemd/system ]]; then
  if systemctl is-enabled --quiet fence_virtd || systemctl is-active --quiet fence_virtd; then
    systemctl disable --now --quiet fence_virtd
    changes+=("stopped fence_virtd")
  fi
elif [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill "$(cat "$pidfile")"
  rm -f "$pidfile"
  changes+=("stopped fence_virtd")
fi
if [[ -f /etc/cluster/redis-ha-fence-zone ]]; then
  zone="$(cat /etc/cluster/redis-ha-fence-zone)"
  firewall-cmd --quiet --zone="$zone" --remove-port=1229/udp || true
  firewall-cmd --quiet --permanent --zone="$zone" --remove-port=1229/udp || true
  rm -f /etc/cluster/redis-ha-fence-zone
  changes+=("closed 1229/udp in firewalld zone $zone")
fi
if [[ -f "$key" ]]; then
  rm -f "$key"
  changes+=("removed $key")
fi
if [[ -f "$conf.redis-ha-orig" ]]; then
  mv "$conf.redis-ha-orig" "$conf"
  changes+=("restored $conf")
elif [[ -f "$conf" ]] && grep -q "^# Written by redis-ha" "$conf"; then
  rm -f "$conf"
  changes+=("removed $conf")
fi
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: no fence_virtd set up by redis-ha"
else
  echo "changed: ${changes[*]}"
fi
