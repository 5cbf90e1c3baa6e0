#!/usr/bin/env bash
# `swarmnet init` on the manager; when it fails, succeed only if the host already is a
# manager (a re-run after a partial apply). One CLI start on the usual path.
source "$(dirname "$0")/lib.sh"
if out=$(remote "swarmnet init --advertise-addr $ADDR" 2>&1); then
  echo "$out" >&2
elif remote "swarmnet info --format json" | grep -q '"role": *"manager"'; then
  say "already a manager"
else
  echo "$out" >&2
  exit 1
fi
