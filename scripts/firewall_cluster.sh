#!/usr/bin/env bash
# Runs firewalld with SSH and the high-availability service (pcsd, corosync, pacemaker) open.
# Usage: firewall_cluster.sh
set -euo pipefail

changes=()
if ! systemctl is-enabled --quiet firewalld; then
  systemctl enable firewalld >/dev/null 2>&1
  changes+=("enabled firewalld")
fi
if ! systemctl is-active --quiet firewalld; then
  systemctl start firewalld
  changes+=("started firewalld")
fi
for service in ssh high-availability; do
  if ! firewall-cmd --quiet --permanent --query-service="$service"; then
    firewall-cmd --quiet --permanent --add-service="$service"
    changes+=("opened $service")
  fi
done
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: firewalld running with ssh and high-availability open"
  exit 0
fi
firewall-cmd --quiet --reload
echo "changed: ${changes[*]}"
