#!/usr/bin/env bash
# How everything on the node reaches Redis: the TLS files, and two clients, both the server's
# CLI logged in as the admin ACL user (the password from REDISCLI_AUTH, never argv):
#   redis-ha-cli        over the network, with this node's TLS settings (tls on): the steps and operators;
#   redis-ha-agent-cli  over the server's unix socket: Pacemaker's redis agent (its client_bin).
# With tls on, stdin holds the node's private key, its certificate and the CA certificate
# (PEM, in that order); the key is readable by root and the server's group only. With tls off,
# stdin is empty and the files go.
# New files (tlsRotation) reach a running server at once: CONFIG SET of the same paths makes it
# load them again, no restart (it logs in over its unix socket with the password redis.conf's
# requirepass holds, as Pacemaker's agent does).
# PAUSE (redisAgentPause): the agent's demote, and each notification that repoints a replica, runs
# CLIENT PAUSE 2000 and then asks INFO, which a pause of every command holds for the whole 2 s:
# "writes" turns that pause into CLIENT PAUSE 2000 WRITE (writes still wait, INFO answers at once);
# "all" leaves the agent's own.
# Usage: redis_clients.sh on|off GROUP CLI USER DIR NETWORK_CLI AGENT_CLI SOCKET CONFIG writes|all < key+certificate+ca
#   e.g. on redis /usr/bin/redis-cli admin /etc/redis-ha/tls /usr/local/sbin/redis-ha-cli \
#        /usr/local/sbin/redis-ha-agent-cli /run/redis/redis.sock /etc/redis/redis.conf writes
set -euo pipefail

mode="$1" group="$2" cli="$3" user="$4" dir="$5" network_cli="$6" agent_cli="$7" socket="$8" config="$9" pause="${10}"
# Lines of the agent's wrapper: expanded when it runs, not here.
# shellcheck disable=SC2016
case "$pause" in
  writes) pause_writes_only='# redisAgentPause writes: a CLIENT PAUSE from the agent holds writes, not its INFO.
args="${*,,}"
if [[ "$args" =~ (^|\ )client\ pause\ [0-9]+$ ]]; then set -- "$@" WRITE; fi
' ;;
  all) pause_writes_only="" ;;
  *) echo "error: PAUSE must be writes or all, not '$pause'" >&2; exit 2 ;;
esac

changes=()
files_changed=false
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"

install_if_changed() {  # SOURCE TARGET MODE OWNER:GROUP
  if ! cmp -s "$1" "$2" || [[ "$(stat -c '%a %U:%G' "$2")" != "$3 $4" ]]; then
    install -m "$3" -o "${4%%:*}" -g "${4##*:}" "$1" "$2"
    changes+=("wrote $2")
  fi
}

if [[ "$mode" == on ]]; then
  # One file per PEM block: key, certificate, CA certificate.
  awk -v dir="$work" '/^-----BEGIN / {n++} n {print > (dir "/part" n)}'
  for part in 1 2 3; do
    [[ -s "$work/part$part" ]] || { echo "error: stdin must hold a key, a certificate and the CA certificate" >&2; exit 2; }
  done
  grep -q '^-----BEGIN PRIVATE KEY-----$' "$work/part1" \
    || { echo "error: the first block on stdin is not a private key" >&2; exit 2; }
  [[ -d "$dir" ]] || { install -d -m 0755 "$dir"; changes+=("created $dir"); }
  before=${#changes[@]}
  install_if_changed "$work/part1" "$dir/server.key" 640 "root:$group"
  install_if_changed "$work/part2" "$dir/server.crt" 644 root:root
  install_if_changed "$work/part3" "$dir/ca.crt" 644 root:root
  ((${#changes[@]} > before)) && files_changed=true
  tls="--tls --cacert $dir/ca.crt --cert $dir/server.crt --key $dir/server.key "
else
  if [[ -d "$dir" ]]; then
    rm -rf "$dir"
    changes+=("removed $dir")
  fi
  tls=""
fi

wrapper() {  # PATH OPTIONS WHAT [LINES BEFORE THE EXEC]
  cat > "$work/wrapper" <<WRAPPER
#!/usr/bin/env bash
# $cli $3 (written by redis-ha), as the $user ACL user: the password comes from
# REDISCLI_AUTH (or --askpass), never argv.
${4:-}exec $cli --user $user $2"\$@"
WRAPPER
  install_if_changed "$work/wrapper" "$1" 755 root:root
}
wrapper "$network_cli" "$tls" "over the network, with this node's TLS settings"
wrapper "$agent_cli" "" "for Pacemaker's redis agent, over the server's unix socket" "$pause_writes_only"

if [[ "$files_changed" == true && -S "$socket" ]]; then
  password="$(sed -n 's/^requirepass //p' "$config" | tail -n 1)"
  said="$(REDISCLI_AUTH="$password" "$agent_cli" -s "$socket" CONFIG SET tls-cert-file "$dir/server.crt" \
    tls-key-file "$dir/server.key" tls-ca-cert-file "$dir/ca.crt" 2>&1 || true)"
  if [[ "$said" != OK ]]; then
    echo "error: the running server did not load the new certificates: $said" >&2
    exit 1
  fi
  changes+=("reloaded by the running server")
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: tls $mode; $network_cli and $agent_cli in place"
else
  echo "changed: ${changes[*]}"
fi
