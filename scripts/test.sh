#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, typecheck, unit tests, then the root tiers
# (netns: real kernel in throwaway namespaces; e2e: multi-host lab with real agents), then
# the VM tier (QEMU hosts with IPVS and ESP; SWARMNET_SKIP_VM=1 skips it with a message).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SWARMNET_ROOT"
echo "== lint"; turbo run lint --output-logs=errors-only
echo "== typecheck"; turbo run typecheck --output-logs=errors-only
echo "== unit"; turbo run test --concurrency=2 --output-logs=new-only
echo "== netns + lab e2e (root)"; turbo run test:root --output-logs=full
if [ "${SWARMNET_SKIP_VM:-}" = 1 ]; then
  echo "== vm: skipped (SWARMNET_SKIP_VM=1)"
else
  echo "== vm (QEMU lab hosts, Terraform)"; turbo run test:vm --output-logs=full
fi
