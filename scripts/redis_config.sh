#!/usr/bin/env bash
# Installs the rendered redis.conf (read from stdin: it holds the password) and hands the
# server over to Pacemaker: the distribution's service is disabled and stopped.
# Usage: redis_config.sh CONFIG_PATH GROUP PROCESS UNIT < redis.conf
#   e.g. /etc/redis/redis.conf redis redis-server redis-server.service (valkey: /etc/valkey/...)
set -euo pipefail

config_path="$1" group="$2" process="$3" unit="$4"
changes=()

wanted="$(mktemp)"
trap 'rm -f "$wanted"' EXIT
chmod 0600 "$wanted"
cat > "$wanted"

if ! cmp -s "$wanted" "$config_path"; then
  # Readable by the server's user only: the file holds requirepass and masterauth.
  install -m 0640 -o root -g "$group" "$wanted" "$config_path"
  changes+=("wrote $config_path")
  if pgrep -x "$process" >/dev/null; then
    echo "note: $process keeps its old settings until Pacemaker restarts it (pcs resource restart redis-clone)"
  fi
fi

# Redis binds the VIP before Pacemaker has raised it on this node.
sysctl_file=/etc/sysctl.d/90-redis-ha.conf
if [[ "$(cat "$sysctl_file" 2>/dev/null)" != "net.ipv4.ip_nonlocal_bind = 1" ]]; then
  echo "net.ipv4.ip_nonlocal_bind = 1" > "$sysctl_file"
  changes+=("allowed non-local bind")
fi
if [[ "$(sysctl -n net.ipv4.ip_nonlocal_bind)" != "1" ]]; then
  sysctl -q -w net.ipv4.ip_nonlocal_bind=1
fi

# Pacemaker's agent runs the server itself; the distribution's unit must not.
if systemctl list-unit-files "$unit" >/dev/null 2>&1 && systemctl cat "$unit" >/dev/null 2>&1; then
  if systemctl is-enabled --quiet "$unit"; then
    systemctl disable "$unit" >/dev/null 2>&1
    changes+=("disabled $unit")
  fi
  if systemctl is-active --quiet "$unit"; then
    systemctl stop "$unit"
    changes+=("stopped $unit")
  fi
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: $config_path up to date, distribution service disabled"
else
  echo "changed: ${changes[*]}"
fi
