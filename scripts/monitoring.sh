#!/usr/bin/env bash
# Configures the node's three Prometheus exporters (install_packages.sh installs them), each
# listening on this node's address only, restarts those whose settings changed and waits until
# each answers. prometheus-redis-exporter logs in as the monitor ACL user with the password in
# PASSWORD_FILE (root and the exporter's user only; never on a command line), and with a client
# certificate (the node's, through KEY_GROUP) when Redis asks for one. A running server gets the
# monitor user at once (redis.conf names it for its next start), over its unix socket with the
# password redis.conf's requirepass holds, as Pacemaker's agent logs in.
# stdin: PASSWORD_FILE's content.
# Usage: monitoring.sh ADDRESS HACLUSTER_PORT REDIS_EXPORTER_PORT NODE_PORT REDIS_URL PASSWORD_FILE
#                      MONITOR_ACL AGENT_CLI SOCKET CONFIG WAIT_SECONDS [CA_FILE [CERT_FILE KEY_FILE KEY_GROUP]]
#   MONITOR_ACL: ACL SETUSER's arguments after the user's name ("on #<sha256> +info ...")
set -euo pipefail
address="$1" hacluster_port="$2" redis_exporter_port="$3" node_port="$4" redis_url="$5" password_file="$6"
monitor_acl="$7" agent_cli="$8" socket="$9" config="${10}" wait_s="${11}"
ca_file="${12:-}" cert_file="${13:-}" key_file="${14:-}" key_group="${15:-}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
cat > "$work/password"

changes=()
restart=()
install_if_changed() {  # SOURCE TARGET MODE OWNER:GROUP UNIT
  if ! cmp -s "$1" "$2" || [[ "$(stat -c '%a %U:%G' "$2")" != "$3 $4" ]]; then
    install -D -m "$3" -o "${4%%:*}" -g "${4##*:}" "$1" "$2"
    changes+=("wrote $2")
    restart+=("$5")
  fi
}
environment_file() {  # ARGS...: the EnvironmentFile the Debian units read ARGS from
  printf '# Written by redis-ha (monitoring.sh).\nARGS="%s"\n' "$*"
}

environment_file "--web.listen-address=$address:$hacluster_port" > "$work/hacluster"
install_if_changed "$work/hacluster" /etc/sysconfig/prometheus-ha_cluster_exporter 644 root:root ha_cluster_exporter

environment_file "--web.listen-address=$address:$node_port" > "$work/node"
install_if_changed "$work/node" /etc/default/prometheus-node-exporter 644 root:root prometheus-node-exporter

# The exporter asks CONFIG GET * by default, which the monitor user may not run (-config-command -).
redis_args=("-web.listen-address=$address:$redis_exporter_port" "-redis.addr=$redis_url" "-redis.user=monitor"
            "-redis.password-file=$password_file" "-config-command=-")
[[ -n "$ca_file" ]] && redis_args+=("-tls-ca-cert-file=$ca_file")
[[ -n "$cert_file" ]] && redis_args+=("-tls-client-cert-file=$cert_file" "-tls-client-key-file=$key_file")
environment_file "${redis_args[*]}" > "$work/redis"
install_if_changed "$work/redis" /etc/default/prometheus-redis-exporter 644 root:root prometheus-redis-exporter
install_if_changed "$work/password" "$password_file" 640 root:prometheus prometheus-redis-exporter
# The node's key is readable by the server's group: the exporter joins it only to present the
# node's certificate (tlsClientAuth required or optional).
dropin=/etc/systemd/system/prometheus-redis-exporter.service.d/redis-ha.conf
if [[ -n "$key_group" ]]; then
  printf '# Written by redis-ha (monitoring.sh): reads the node key for its client certificate.\n[Service]\nSupplementaryGroups=%s\n' \
    "$key_group" > "$work/dropin"
  install_if_changed "$work/dropin" "$dropin" 644 root:root prometheus-redis-exporter
elif [[ -e "$dropin" ]]; then
  rm -f "$dropin"
  changes+=("removed $dropin")
  restart+=(prometheus-redis-exporter)
fi
((${#restart[@]} > 0)) && systemctl daemon-reload

for unit in ha_cluster_exporter prometheus-redis-exporter prometheus-node-exporter; do
  if ! systemctl is-enabled --quiet "$unit"; then
    systemctl enable --quiet "$unit"
    changes+=("enabled $unit")
  fi
  if [[ " ${restart[*]} " == *" $unit "* ]] || ! systemctl is-active --quiet "$unit"; then
    systemctl restart "$unit"
    changes+=("started $unit")
  fi
done

# A running server learns the user now (redis.conf has it for the next start).
if [[ -S "$socket" ]]; then
  admin_password="$(sed -n 's/^requirepass //p' "$config" | tail -n 1)"
  server() { REDISCLI_AUTH="$admin_password" "$agent_cli" -s "$socket" "$@"; }
  read -r -a acl <<<"$monitor_acl"
  # ACL GETUSER lists the password's hash and the rules as the server normalised them.
  current="$(server ACL GETUSER monitor 2>/dev/null | tr '\n' ' ')" || true
  if [[ "$current" != *"${acl[1]#\#}"* || "$current" != *" on "* ]]; then
    said="$(server ACL SETUSER monitor reset "${acl[@]}" 2>&1)"
    [[ "$said" == OK ]] || { echo "error: the running server refused the monitor user: $said" >&2; exit 1; }
    changes+=("added the monitor ACL user to the running server")
  fi
fi

# Each exporter answers HTTP on its address and port (an error status counts: an exporter
# without a landing page says 404). Its landing page, not /metrics: a scrape runs every
# collector, and the node exporter's systemd collector took 85 s over a D-Bus that firewalld's
# steps kept busy (CI, stop 29), so a scrape outlasts any probe while the exporter is up.
answers='
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=5).read()
except urllib.error.HTTPError:
    pass
'
deadline=$((SECONDS + wait_s))
for port in "$hacluster_port" "$redis_exporter_port" "$node_port"; do
  until python3 -c "$answers" "http://$address:$port/" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      echo "error: no exporter answers on http://$address:$port/ after ${wait_s}s" >&2
      systemctl --no-pager status ha_cluster_exporter prometheus-redis-exporter prometheus-node-exporter >&2 || true
      exit 1
    fi
    sleep 1
  done
done

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: exporters on $address:$hacluster_port (hacluster), :$redis_exporter_port (redis), :$node_port (node)"
else
  echo "changed: ${changes[*]}"
fi
