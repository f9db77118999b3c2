#!/bin/bash
# Runs inside the VM (see run-lvm-tests.sh), chrooted into the host's root over 9p
# (read-only) with tmpfs on /run and /tmp and the results share at /tmp/results:
# loads the device-mapper modules, makes the volume group `lxc` with the thin pool `lxc`
# on a loop device, runs mocha on the LVM tests and leaves its output and exit status in
# the results share. Its arguments are mocha's (default: packages/storage-lvm/test), or
# --bench and bench/lvm-clone.ts's: the bench runs instead, its output in bench.log and
# its JSON in bench/ of the results share.
set -uo pipefail
results=/tmp/results
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export HOME=/tmp TMPDIR=/tmp PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LVM_SYSTEM_DIR=/tmp/lvm LVM_SUPPRESS_FD_WARNINGS=1
status=1
finish() { echo "$status" >"$results/status"; sync; }
trap finish EXIT
exec >"$results/guest.log" 2>&1

step() { echo "guest: $*"; }
step "kernel $(uname -r), $(nproc) CPUs"
for module in loop dm-mod dm-thin-pool dm-snapshot ext4 xfs btrfs; do
  modprobe "$module" || { echo "guest: modprobe $module failed"; exit; }
done
mkdir -p /run/lock /run/lvm "$LVM_SYSTEM_DIR"
# No udev here: LVM makes its device nodes itself; the root is read-only: no backups.
cat >"$LVM_SYSTEM_DIR/lvm.conf" <<'CONF'
activation {
  udev_sync = 0
  udev_rules = 0
}
devices {
  obtain_device_list_from_udev = 0
}
backup {
  backup = 0
  archive = 0
}
CONF
truncate -s 3G /tmp/pv.img
pv=$(losetup --find --show /tmp/pv.img) || exit
step "PV on $pv"
pvcreate -qq "$pv" && vgcreate -qq lxc "$pv" && lvcreate -qq --type thin-pool --size 1500m --name lxc lxc || { echo "guest: making the VG failed"; exit; }
lvs lxc

# The tests' lxcpaths and fixtures on ext4: the VM's tmpfs (6.1) has no user xattrs.
truncate -s 2G /tmp/work.img && mkfs.ext4 -q /tmp/work.img && mkdir -p /tmp/work && mount -o loop /tmp/work.img /tmp/work || { echo "guest: making /tmp/work failed"; exit; }
chmod 1777 /tmp/work
export TMPDIR=/tmp/work

cd "$repo" || exit
if [ "${1:-}" = --bench ]; then
  shift
  mkdir -p "$results/bench"
  step "bench/lvm-clone.ts $*"
  node --import tsx --conditions=berth-source bench/lvm-clone.ts --out-dir "$results/bench" "$@" >"$results/bench.log" 2>&1
  status=$?
  step "bench exited $status"
  exit
fi
[ $# -gt 0 ] || set -- packages/storage-lvm/test/*.test.ts
step "mocha $*"
./node_modules/.bin/mocha "$@" >"$results/mocha.log" 2>&1
status=$?
step "mocha exited $status"
# Killed by a signal: the kernel's last words (where a segfault hit, if it said) for the host.
if [ "$status" -gt 128 ]; then dmesg 2>&1 | tail -n 12 >"$results/crash.log"; fi
