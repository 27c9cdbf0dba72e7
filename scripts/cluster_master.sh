#!/usr/bin/env bash
# Which node holds the VIP (the Redis master), and which node is out of the cluster, asked of
# both nodes over SSH where `pulumi` runs, with each node's pinned host key. The program reads
# it at every preview and up, to replace the other node first and to bring an out node back.
# Prints "master NODE", "no master" (a node answered, none holds the VIP) or "no node (what ssh
# said for each)" (no node answered: a new stack); then "out NODE" for each node a running
# member does not see as a member (stopped, fenced, or its cluster services stopped).
# Never fails: a node that does not answer is one that is not there yet.
# Usage: cluster_master.sh SSH_USER VIP NODE1 ADDR1 HOST_KEY1 NODE2 ADDR2 HOST_KEY2 < ssh-private-key
set -euo pipefail

user="$1" vip="$2"
nodes=("$3" "$6") addrs=("$4" "$7") host_keys=("$5" "$8")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# ssh refuses a key file without its final newline (Pulumi config values come without one).
key="$(cat)"
(umask 077 && printf '%s\n' "$key" > "$work/key")
for i in 0 1; do
  echo "${addrs[i]} ${host_keys[i]}" >> "$work/known_hosts"
done

for i in 0 1; do
  # Both at once: a node that is not there costs one connect timeout, not two.
  timeout 20 ssh -n -i "$work/key" -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$work/known_hosts" -o LogLevel=ERROR "$user@${addrs[i]}" \
    'ip -4 -o addr show; echo "# members"; sudo -n crm_node -l 2>/dev/null || true' \
    > "$work/answer.$i" 2> "$work/error.$i" && touch "$work/answered.$i" &
done
wait

answered=false master=""
: > "$work/members"
for i in 0 1; do
  [[ -f "$work/answered.$i" ]] || continue
  answered=true
  if [[ -z "$master" ]] && sed '/^# members$/q' "$work/answer.$i" | grep -q " inet $vip/"; then
    master="${nodes[i]}"
  fi
  # crm_node -l: "ID NAME member|lost", only where Pacemaker runs.
  awk '/^# members$/ {listed = 1; next} listed && $3 == "member" {print $2}' "$work/answer.$i" >> "$work/members"
done
if [[ -n "$master" ]]; then
  echo "master $master"
elif [[ "$answered" == true ]]; then
  echo "no master"
else
  echo "no node (${nodes[0]}: $(tail -n 1 "$work/error.0"); ${nodes[1]}: $(tail -n 1 "$work/error.1"))"
fi
# Without any member (a new stack, or the whole cluster stopped) no node is out: it is down.
if [[ -s "$work/members" ]]; then
  for node in "${nodes[@]}"; do
    grep -qxF "$node" "$work/members" || echo "out $node"
  done
fi
