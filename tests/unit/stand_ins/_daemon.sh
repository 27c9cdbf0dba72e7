# shellcheck shell=bash
# Starts a stand-in daemon (a sleep) in the background, records its pid for the test to end it.
stand_in_daemon() {
  setsid sleep 600 < /dev/null > /dev/null 2>&1 &
  echo $! >> "$STAND_IN_STATE/daemons"
  echo $!
}
