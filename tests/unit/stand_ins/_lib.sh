# shellcheck shell=bash
# Sourced by every bash stand-in: logs the call (name and arguments, tab-separated) and fails it
# with the test's message when $STAND_IN_STATE/fail/<name> names part of its arguments.
name="${0##*/}"
{ printf '%s' "$name"; [[ $# -eq 0 ]] || printf '\t%s' "$@"; printf '\n'; } >> "$STAND_IN_STATE/calls"
if [[ -f "$STAND_IN_STATE/fail/$name" && " $* " == *"$(head -n 1 "$STAND_IN_STATE/fail/$name")"* ]]; then
  tail -n +2 "$STAND_IN_STATE/fail/$name" >&2
  exit 1
fi
