#!/usr/bin/env bash
# `swarmnet leave` (FORCE=1 for the manager); a host that cannot be reached is skipped.
source "$(dirname "$0")/lib.sh"
force=''
[ "${FORCE:-}" = 1 ] && force=--force
remote "swarmnet leave $force" >&2 || say "could not leave (host gone?): skipped"
