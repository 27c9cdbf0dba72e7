# shellcheck shell=bash
# Starts a stand-in daemon (a sleep) in the background; it ends with the test's PID namespace.
stand_in_daemon() {
  setsid sleep 600 < /dev/null > /dev/null 2>&1 &
  echo $!
}
