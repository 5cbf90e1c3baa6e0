#!/usr/bin/env bash
# `swarmnet join` as a worker with a token read from the manager; when it fails, succeed
# only if the host already is a worker (a re-run after a partial apply).
source "$(dirname "$0")/lib.sh"
: "${MANAGER_ADDR:?}" "${MANAGER_SSH_USER:?}" "${MANAGER_KEY:?}"
token=$(remote_at "$MANAGER_ADDR" "$MANAGER_SSH_USER" "$MANAGER_KEY" "swarmnet join-token -q worker")
if out=$(remote "swarmnet join --token $token --advertise-addr $ADDR $MANAGER_ADDR" 2>&1); then
  echo "$out" >&2
elif remote "swarmnet info --format json" | grep -q '"role": *"worker"'; then
  say "already a worker"
else
  echo "$out" >&2
  exit 1
fi
