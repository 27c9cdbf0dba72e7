#!/usr/bin/env bash
# How the cluster starts on this node: whether corosync and pacemaker (and corosync-qdevice,
# with a quorum device) start at boot, and the one command that starts the whole cluster after
# an outage. Start at boot is off by default: a node that failed stays out of the cluster until
# an operator has looked at it.
# Usage: cluster_boot.sh START_AT_BOOT(true|false) QUORUM_DEVICE(true|false)
set -euo pipefail

start_at_boot="$1" quorum_device="$2"
start_command=/usr/local/sbin/redis-ha-start-cluster
changes=()
for unit in corosync pacemaker corosync-qdevice; do
  wanted="$start_at_boot"
  # corosync-qdevice requires corosync: enabled without a device, it would start the cluster.
  [[ "$unit" == corosync-qdevice && "$quorum_device" != "true" ]] && wanted=false
  if [[ "$wanted" == "true" ]] && ! systemctl is-enabled --quiet "$unit"; then
    systemctl enable "$unit" >/dev/null 2>&1
    changes+=("enabled $unit")
  elif [[ "$wanted" != "true" ]] && systemctl is-enabled --quiet "$unit" 2>/dev/null; then
    systemctl disable "$unit" >/dev/null 2>&1
    changes+=("disabled $unit")
  fi
done

# After both nodes boot, sshd answers well before pcsd does (tens of seconds on a slow guest),
# and `pcs cluster start --all` fails outright while one pcsd is not up yet.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/start" <<'START'
#!/usr/bin/env bash
# Starts the whole cluster after an outage (written by redis-ha): waits until pcsd answers on
# every node, then starts corosync and pacemaker on both and waits until they run. The node
# whose Redis was master last is promoted; the other resyncs from it.
# Usage: redis-ha-start-cluster [TIMEOUT_SECONDS]   (default 900)
set -euo pipefail
timeout_s="${1:-900}"
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || { echo "error: TIMEOUT_SECONDS must be a whole number of seconds, got $timeout_s" >&2; exit 2; }
deadline=$((SECONDS + timeout_s))
said=""
while :; do
  # A line per node corosync.conf names, "NODE: Online" once its pcsd answers.
  status="$(pcs status pcsd 2>&1)" || true
  waiting="$(awk -F': ' '$2 != "Online" {gsub(/^ +/, "", $0); printf "%s; ", $0}' <<< "$status")"
  [[ -z "$waiting" && "$status" == *": Online"* ]] && break
  if ((SECONDS >= deadline)); then
    echo "error: pcsd still not answering after ${timeout_s}s on: $waiting" >&2
    exit 1
  fi
  [[ "$waiting" != "$said" ]] && echo "waiting for pcsd on: $waiting"
  said="$waiting"
  sleep 1
done
left=$((deadline - SECONDS > 60 ? deadline - SECONDS : 60))
exec pcs cluster start --all --wait="$left" --request-timeout="$left"
START
if ! cmp -s "$work/start" "$start_command"; then
  install -m 0755 "$work/start" "$start_command"
  changes+=("wrote $start_command")
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: cluster units start at boot: $start_at_boot (quorum device: $quorum_device); $start_command in place"
else
  echo "changed: ${changes[*]}"
fi
