#!/usr/bin/env bash
# Polls `swarmnet node ls` on the manager until $NODES nodes are ready, or fails after $TIMEOUT s.
source "$(dirname "$0")/lib.sh"
: "${NODES:?}"
deadline=$(($(date +%s) + ${TIMEOUT:-600}))
while :; do
  ready=$(remote "swarmnet node ls --format json" 2>/dev/null | grep -o '"status": *"ready"' | wc -l || true)
  [ "$ready" -ge "$NODES" ] && { say "$ready nodes ready"; exit 0; }
  [ "$(date +%s)" -lt "$deadline" ] || { say "only $ready of $NODES nodes ready after ${TIMEOUT:-600} s"; exit 1; }
  sleep 3
done
