#!/usr/bin/env bash
# The node's TLS files and redis-ha-cli, the client every step and operator uses to reach Redis
# over the network: the server's CLI with this node's TLS settings (or without, tls off).
# With tls on, stdin holds the node's private key, its certificate and the CA certificate
# (PEM, in that order); the key is readable by root and the server's group only. With tls off,
# stdin is empty and the files go.
# Usage: tls_files.sh on|off GROUP CLI DIR WRAPPER < key+certificate+ca
#   e.g. on redis /usr/bin/redis-cli /etc/redis-ha/tls /usr/local/sbin/redis-ha-cli
set -euo pipefail

mode="$1" group="$2" cli="$3" dir="$4" wrapper="$5"
changes=()
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
  install_if_changed "$work/part1" "$dir/server.key" 640 "root:$group"
  install_if_changed "$work/part2" "$dir/server.crt" 644 root:root
  install_if_changed "$work/part3" "$dir/ca.crt" 644 root:root
  options="--tls --cacert $dir/ca.crt --cert $dir/server.crt --key $dir/server.key "
else
  if [[ -d "$dir" ]]; then
    rm -rf "$dir"
    changes+=("removed $dir")
  fi
  options=""
fi

cat > "$work/wrapper" <<WRAPPER
#!/usr/bin/env bash
# $cli as every redis-ha step reaches Redis over the network (written by redis-ha): with the
# node's TLS settings when tls is on. The password comes from REDISCLI_AUTH, never argv.
exec $cli $options"\$@"
WRAPPER
install_if_changed "$work/wrapper" "$wrapper" 755 root:root

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: tls $mode; $wrapper in place"
else
  echo "changed: ${changes[*]}"
fi
