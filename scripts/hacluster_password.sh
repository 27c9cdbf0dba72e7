#!/usr/bin/env bash
# Sets the hacluster user's password (read from stdin, never from the command line) and runs
# pcsd, which authenticates the nodes to each other with that password.
# Usage: hacluster_password.sh < password
set -euo pipefail

IFS= read -r password
changes=()

# Compare against the current hash instead of rewriting it, so a re-run changes nothing. Perl's
# crypt() is the system's libcrypt (every hash scheme the node's passwd uses, yescrypt included;
# Python 3.13 dropped its crypt module). The hash and the password reach perl on stdin: neither
# appears in ps output.
current_hash="$(getent shadow hacluster | cut -d: -f2 || true)"
if ! printf '%s\n%s' "$current_hash" "$password" | perl -e '
  chomp(my $stored = <STDIN>);
  my $candidate = do { local $/; <STDIN> };
  exit(($stored ne "" && $stored !~ /^[!*]/ && crypt($candidate, $stored) eq $stored) ? 0 : 1);
'; then
  printf 'hacluster:%s\n' "$password" | chpasswd
  changes+=("set hacluster password")
fi

# pcsd (and its Ruby half, which it needs) start in seconds on hardware; on a loaded emulated node
# a start outlasted systemd's default 90 s (an e2e run here, 2026-11-28: pcsd not up yet after the
# install, then "Job for pcsd.service failed because a timeout was exceeded" from this step).
timeout_text='# Written by redis-ha (hacluster_password.sh): room for a start on a slow or loaded node.
[Service]
TimeoutStartSec=600'
reload=false
for unit in pcsd pcsd-ruby; do
  drop_in="/etc/systemd/system/$unit.service.d/redis-ha-start-timeout.conf"
  if [[ "$(cat "$drop_in" 2>/dev/null)" != "$timeout_text" ]]; then
    mkdir -p "${drop_in%/*}"
    printf '%s\n' "$timeout_text" > "$drop_in"
    changes+=("gave $unit 600 s to start")
    reload=true
  fi
done
if [[ "$reload" == true ]]; then
  systemctl daemon-reload
fi

if ! systemctl is-enabled --quiet pcsd; then
  systemctl enable pcsd >/dev/null 2>&1
  changes+=("enabled pcsd")
fi
# A start the package began may still be under way, with the old timeout: let it end first.
for _ in $(seq 1 300); do
  [[ "$(systemctl is-active pcsd || true)" == activating ]] || break
  sleep 2
done
if ! systemctl is-active --quiet pcsd; then
  systemctl start pcsd
  changes+=("started pcsd")
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: hacluster password set, pcsd running"
else
  echo "changed: ${changes[*]}"
fi
