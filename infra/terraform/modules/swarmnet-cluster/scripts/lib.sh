# Shared by the module's scripts: `remote CMD…` runs CMD on $ADDR as $SSH_USER with $KEY,
# through $SSH_COMMAND (a plain `ssh`, or a wrapper that reaches the hosts' network).
set -euo pipefail
: "${ADDR:?}" "${SSH_USER:?}" "${KEY:?}"
SSH_COMMAND=${SSH_COMMAND:-ssh}
SSH_OPTIONS=${SSH_OPTIONS:-}
remote_at() { # remote_at ADDR USER KEY CMD…
  local addr=$1 user=$2 key=$3
  shift 3
  # shellcheck disable=SC2086
  $SSH_COMMAND -i "$key" -o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR $SSH_OPTIONS -l "$user" "$addr" -- "$@"
}
remote() { remote_at "$ADDR" "$SSH_USER" "$KEY" "$@"; }
say() { echo "swarmnet-cluster[$ADDR]: $*" >&2; }
