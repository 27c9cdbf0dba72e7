# shellcheck shell=bash
# firewall(): firewall-cmd, asked again when its reply outlasted its D-Bus wait. On a loaded
# emulated node firewalld can take longer to answer than firewall-cmd waits (25 s): CI,
# 2026-12-07, `Error: Did not receive a reply`, exit 254, while the node was busy. Asking again
# is safe: a query or a list changes nothing, and an add or remove that firewalld did carry out
# only warns ALREADY_ENABLED or NOT_ENABLED the second time. Any other failure is returned at
# once, with firewall-cmd's output and error as it printed them.
# Sourced by the scripts that change the firewall; components/remote_script.py inlines it.
firewall() {
  local status output errors
  errors="$(mktemp)"
  for _ in 1 2 3 4 5; do
    status=0
    output="$(firewall-cmd "$@" 2>"$errors")" || status=$?
    if ((status != 254)) || ! grep -q "Did not receive a reply" "$errors"; then
      break
    fi
  done
  cat "$errors" >&2
  rm -f "$errors"
  [[ -z "$output" ]] || printf '%s\n' "$output"
  return "$status"
}
