#!/usr/bin/env bash
# `swarmnet init` on the manager, unless it already is in a cluster.
source "$(dirname "$0")/lib.sh"
if remote "swarmnet info --format json" | grep -q '"role": *"manager"'; then
  say "already a manager"
else
  remote "swarmnet init --advertise-addr $ADDR" >&2
fi
