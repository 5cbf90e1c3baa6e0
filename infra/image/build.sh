#!/usr/bin/env bash
# Builds (or finds) the base image of swarmnet's VM lab hosts, offline from Debian packages:
# mmdebstrap minbase + Debian's cloud kernel (ip_vs, esp4, gcm as modules), systemd, sshd,
# iproute2, nftables, ipvsadm …; then the guest files of infra/image/guest and the agent's
# unit from infra/systemd. No swarmnet code is in it: a lab copies the built code in on a
# second, read-only disk each run, so the image is rebuilt only when its inputs change.
#
# Output: the cache directory (vmlinuz, initrd.img, base.qcow2, inputs.sha256) on the
# last line of stdout. Cached under $SWARMNET_VM_CACHE (default /var/cache/swarmnet-vm)
# in a directory named by the sha256 of this script, the guest files and the unit.
# Usage: infra/image/build.sh [--print-key]   (root; takes 1-3 min the first time)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${SWARMNET_VM_CACHE:-/var/cache/swarmnet-vm}
suite=bookworm
packages=linux-image-cloud-amd64,initramfs-tools,systemd-sysv,udev,dbus,kmod,iproute2,nftables,iptables,ipvsadm,conntrack,tcpdump,curl,openssh-server,iputils-ping,procps,util-linux,tini,ca-certificates,less

key=$( (cat "$here/build.sh" "$root/infra/systemd/swarmnet.service"; echo "$packages $suite"
        for f in "$here"/guest/*; do echo "== ${f##*/}"; cat "$f"; done) | sha256sum | cut -c1-16)
if [ "${1:-}" = --print-key ]; then echo "$key"; exit 0; fi
out="$cache/$key"
if [ -f "$out/base.qcow2" ]; then echo "$out"; exit 0; fi

if [ "$(id -u)" != 0 ]; then echo "image: building the VM image needs root" >&2; exit 1; fi
for c in mmdebstrap mkfs.ext4 qemu-img; do
  command -v "$c" >/dev/null || { echo "image: $c is missing (run scripts/setup.sh)" >&2; exit 1; }
done
mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock 9
if [ -f "$out/base.qcow2" ]; then echo "$out"; exit 0; fi # built by another process meanwhile

tmp=$(mktemp -d "$cache/.build-$key.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
started=$(date +%s)
echo "image: mmdebstrap $suite into $tmp (1-3 min)" >&2
mirrors=()
for s in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
  [ -s "$s" ] && grep -qv '^\s*#' "$s" && mirrors+=("$s")
done
[ ${#mirrors[@]} -gt 0 ] || mirrors=(http://deb.debian.org/debian)
mmdebstrap --mode=root --variant=minbase --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --skip=output/mknod \
  "$suite" "$tmp/root" "${mirrors[@]}" >&2

r="$tmp/root"
install -m 0755 "$here/guest/swarmnet-vm-net.sh" "$r/usr/local/sbin/swarmnet-vm-net"
install -m 0644 "$here/guest/swarmnet-vm-net.service" "$r/etc/systemd/system/swarmnet-vm-net.service"
install -m 0644 "$root/infra/systemd/swarmnet.service" "$r/etc/systemd/system/swarmnet.service"
install -D -m 0644 "$here/guest/swarmnet-vm.conf" "$r/etc/systemd/system/swarmnet.service.d/vm.conf"
install -m 0644 "$here/guest/modules.conf" "$r/etc/modules-load.d/swarmnet.conf"
install -m 0644 "$here/guest/modprobe.conf" "$r/etc/modprobe.d/swarmnet.conf"
install -m 0644 "$here/guest/sshd.conf" "$r/etc/ssh/sshd_config.d/swarmnet.conf"
mkdir -p "$r/opt/swarmnet" "$r/var/cache/swarmnet"
ln -sf /opt/swarmnet/bin/swarmnet "$r/usr/local/bin/swarmnet"
printf 'LABEL=swarmnet /opt/swarmnet ext4 ro,nofail,x-systemd.device-timeout=60s 0 0\n' >"$r/etc/fstab"
echo swarmnet-vm >"$r/etc/hostname"
: >"$r/etc/machine-id"
for u in swarmnet-vm-net.service swarmnet.service ssh.service; do
  chroot "$r" systemctl enable "$u" >/dev/null 2>&1
done
# boot-time CPU burners and consoles nobody reads (the serial console is logged to a file)
for u in serial-getty@ttyS0.service getty@tty1.service e2scrub_reap.service apt-daily.timer \
  apt-daily-upgrade.timer fstrim.timer systemd-timesyncd.service ipvsadm.service dpkg-db-backup.timer \
  e2scrub_all.timer systemd-tmpfiles-clean.timer; do
  ln -sf /dev/null "$r/etc/systemd/system/$u"
done
cp -L "$r"/boot/vmlinuz-*-cloud-amd64 "$tmp/vmlinuz"
cp -L "$r"/boot/initrd.img-*-cloud-amd64 "$tmp/initrd.img"
rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*

echo "image: mkfs.ext4 + qcow2" >&2
truncate -s 2G "$tmp/base.raw"
mkfs.ext4 -q -L swarmnet-root -d "$r" "$tmp/base.raw"
qemu-img convert -f raw -O qcow2 "$tmp/base.raw" "$tmp/base.qcow2"
rm -rf "$tmp/base.raw" "$r"
echo "$key" >"$tmp/inputs.sha256"
echo "image: built in $(($(date +%s) - started)) s" >&2
mv "$tmp" "$out"
trap - EXIT
# keep the two newest images
ls -1dt "$cache"/*/ 2>/dev/null | tail -n +3 | xargs -r rm -rf
echo "$out"
