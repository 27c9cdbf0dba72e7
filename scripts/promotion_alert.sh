#!/usr/bin/env bash
# Pacemaker alert agent (installed on every node by install_file.sh, named in the CIB by
# cib_apply.sh): after each successful promotion of Redis, the promotion scores follow the new
# master. The redis agent (wait_last_known_master) scores an instance once, when it starts: 1000
# on the last known master's node, 1 elsewhere, and never again while it runs. After a switchover
# with both instances running, the old master's node keeps 1000 and the new one 1, so the moment
# `pcs resource move --promoted` lifts its constraint the scheduler promotes the old master again.
# This applies the agent's own rule to the new last known master: 1000 on the promoted node, 1 on
# every other node that has a score (a stopped instance has none: its start scores it).
# Pacemaker runs it as hacluster on the node where the operation ran, the event in CRM_alert_* and
# the alert's option redis_resource (the redis primitive's id) in the environment. A failure only
# reaches Pacemaker's log: the scores then stay as the agent left them.
set -euo pipefail
# Pacemaker starts alert agents with its own environment; the cluster tools live in sbin.
PATH="$PATH:/usr/sbin:/usr/bin:/sbin:/bin"

[[ "${CRM_alert_kind:-}" == resource && "${CRM_alert_task:-}" == promote && "${CRM_alert_rc:-}" == 0 ]] || exit 0
resource="${redis_resource:-}"
if [[ ! "$resource" =~ ^[A-Za-z0-9_.-]+$ ]]; then
  echo "error: the alert option redis_resource must be the redis resource's id, not '$resource'" >&2
  exit 2
fi
# An anonymous clone's instances report as the primitive, possibly with an instance number.
rsc="${CRM_alert_rsc:-}"
[[ "${rsc%%:*}" == "$resource" ]] || exit 0
promoted="${CRM_alert_node:?Pacemaker names the node in CRM_alert_node}"
score_name="master-$resource"

changes=()
while read -r _ node _; do
  current="$(crm_attribute --node "$node" --name "$score_name" --lifetime reboot --query --quiet 2>/dev/null || true)"
  if [[ "$node" == "$promoted" ]]; then
    wanted=1000
  elif [[ -n "$current" ]]; then
    wanted=1
  else
    continue  # no score: no instance runs there (its start will score it)
  fi
  if [[ "$current" != "$wanted" ]]; then
    crm_attribute --node "$node" --name "$score_name" --lifetime reboot --update "$wanted"
    changes+=("$node ${current:-none} -> $wanted")
  fi
done < <(crm_node --list)

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: $score_name already follows the promotion on $promoted"
else
  echo "changed: $score_name ${changes[*]}"
fi
