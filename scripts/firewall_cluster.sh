#!/usr/bin/env bash
# Runs firewalld with SSH and the high-availability service (pcsd, corosync, pacemaker) open,
# and, with fencing mode xvm, fence_xvm's reply port open to the hypervisor only (fence_virtd
# answers a request by connecting back to the requesting node on TCP 1229).
# Usage: firewall_cluster.sh [FENCE_VIRTD_ADDRESS]
set -euo pipefail
fence_virtd_address="${1:-}"

changes=()
if ! systemctl is-enabled --quiet firewalld; then
  systemctl enable firewalld >/dev/null 2>&1
  changes+=("enabled firewalld")
fi
if ! systemctl is-active --quiet firewalld; then
  systemctl start firewalld
  changes+=("started firewalld")
fi
# A firewalld just started can take longer to answer than firewall-cmd waits on D-Bus (Debian
# 13's, on an emulated node, failed a command with NoReply): wait until it says it runs.
for _ in $(seq 1 90); do
  firewall-cmd --state >/dev/null 2>&1 && break
  sleep 2
done
# Opened in the saved configuration and in the running one, without --reload (see
# firewall_ports.sh: a reload can outlast firewall-cmd's D-Bus wait on a loaded node).
# shellcheck source=scripts/lib/firewall.sh
source "$(dirname "$0")/lib/firewall.sh"
declare -A reported=()
report() {
  if [[ -z "${reported[$1]:-}" ]]; then
    reported["$1"]=1
    changes+=("$1")
  fi
}
fence_rule="rule family=ipv4 source address=$fence_virtd_address port port=1229 protocol=tcp accept"
for layer in permanent runtime; do
  scope=()
  if [[ "$layer" == permanent ]]; then scope=(--permanent); fi
  # Listed first: a failed list inside the here-string would go unnoticed.
  listed="$(firewall "${scope[@]}" --list-services)"
  read -r -a open_services <<<"$listed"
  for service in ssh high-availability; do
    if [[ " ${open_services[*]} " != *" $service "* ]]; then
      firewall "${scope[@]}" --add-service="$service" >/dev/null
      report "opened $service"
    fi
  done
  if [[ -n "$fence_virtd_address" ]] && ! firewall --quiet "${scope[@]}" --query-rich-rule="$fence_rule"; then
    firewall "${scope[@]}" --add-rich-rule="$fence_rule" >/dev/null
    report "opened 1229/tcp to $fence_virtd_address"
  fi
done
if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: firewalld running with ssh and high-availability${fence_virtd_address:+ and fence_xvm} open"
  exit 0
fi
echo "changed: ${changes[*]}"
