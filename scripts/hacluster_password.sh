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

if ! systemctl is-enabled --quiet pcsd; then
  systemctl enable pcsd >/dev/null 2>&1
  changes+=("enabled pcsd")
fi
if ! systemctl is-active --quiet pcsd; then
  systemctl start pcsd
  changes+=("started pcsd")
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: hacluster password set, pcsd running"
else
  echo "changed: ${changes[*]}"
fi
