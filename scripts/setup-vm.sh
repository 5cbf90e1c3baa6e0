#!/usr/bin/env bash
# Set-up for the VM tier (called by setup.sh; idempotent, quick when done): installs QEMU,
# qemu-img, mmdebstrap and e2fsprogs with apt-get when one of their commands is missing.
# The VM image itself is built (and cached) by infra/image/build.sh when a VM lab needs it.
# Terraform is not a Debian package: when it is missing the Terraform tests are skipped.
set -euo pipefail
tools="qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils mmdebstrap:mmdebstrap
mkfs.ext4:e2fsprogs ssh:openssh-client ssh-keygen:openssh-client"
missing=()
for pair in $tools; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "setup: installing $pkgs (VM tier)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi
