#!/usr/bin/env bash
# The swarmnet demo, on one machine, as root: a 3-host lab (each host its own network,
# mount, pid and uts namespace, all on one underlay bridge), shown and pinged across,
# then torn down — also when a step fails or the demo is interrupted.
set -euo pipefail
source "$(dirname "$0")/env.sh"

LAB=demo
swarmnet() { "$SWARMNET_ROOT/bin/swarmnet" "$@"; }
banner() { printf '\n==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: must run as root (namespaces, mounts, veths)" >&2
  exit 1
fi

cleanup() {
  banner "Tearing the lab down"
  swarmnet lab down --name "$LAB" || true
}
trap cleanup EXIT

banner "Removing what a previous, interrupted demo may have left"
swarmnet lab down --name "$LAB"

banner "Bringing up a 3-host lab '$LAB' (underlay 192.0.2.0/24, ext at 203.0.113.10)"
swarmnet lab up --name "$LAB" 3

banner "Lab status"
swarmnet lab status --name "$LAB"

banner "Host 1 is '$(swarmnet lab exec --name "$LAB" 1 -- hostname)', host 2 is '$(swarmnet lab exec --name "$LAB" 2 -- hostname)'"

banner "Host 1 pings host 2 (192.0.2.12) across the underlay"
swarmnet lab exec --name "$LAB" 1 -- ping -c 3 -i 0.2 192.0.2.12

banner "Host 2 reaches ext (203.0.113.10) through the switch"
swarmnet lab exec --name "$LAB" 2 -- ping -c 1 203.0.113.10

banner "Done"
