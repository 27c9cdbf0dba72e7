#!/usr/bin/env bash
# Undoes monitoring.sh and the exporters' install (monitoring none): the three exporters stopped
# and purged with their settings, the password file gone, and the monitor ACL user taken from
# the running server (redis.conf no longer names it).
# Usage: monitoring_remove.sh PASSWORD_FILE AGENT_CLI SOCKET CONFIG
set -euo pipefail
password_file="$1" agent_cli="$2" socket="$3" config="$4"
packages=(prometheus-hacluster-exporter prometheus-redis-exporter prometheus-node-exporter)

changes=()
installed=()
for package in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
    installed+=("$package")
  fi
done
if ((${#installed[@]} > 0)); then
  DEBIAN_FRONTEND=noninteractive apt-get purge -q -y "${installed[@]}" >/dev/null
  changes+=("purged ${installed[*]}")
fi
for path in "$password_file" /etc/sysconfig/prometheus-ha_cluster_exporter \
            /etc/systemd/system/prometheus-redis-exporter.service.d; do
  if [[ -e "$path" ]]; then
    rm -rf "$path"
    changes+=("removed $path")
  fi
done

if [[ -S "$socket" ]]; then
  admin_password="$(sed -n 's/^requirepass //p' "$config" | tail -n 1)"
  if [[ "$(REDISCLI_AUTH="$admin_password" "$agent_cli" -s "$socket" ACL DELUSER monitor 2>&1)" == 1 ]]; then
    changes+=("removed the monitor ACL user from the running server")
  fi
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: no exporters on this node"
else
  echo "changed: ${changes[*]}"
fi
