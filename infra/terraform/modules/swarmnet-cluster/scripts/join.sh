#!/usr/bin/env bash
# `swarmnet join` as a worker with a token read from the manager, unless already joined.
source "$(dirname "$0")/lib.sh"
: "${MANAGER_ADDR:?}" "${MANAGER_SSH_USER:?}" "${MANAGER_KEY:?}"
if remote "swarmnet info --format json" | grep -q '"role": *"worker"'; then
  say "already a worker"
  exit 0
fi
token=$(remote_at "$MANAGER_ADDR" "$MANAGER_SSH_USER" "$MANAGER_KEY" "swarmnet join-token -q worker")
remote "swarmnet join --token $token --advertise-addr $ADDR $MANAGER_ADDR" >&2
