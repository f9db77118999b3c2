#!/usr/bin/env bash
# pnpm test:lvm — the LVM driver's tests inside a small qemu VM.
#
# These machines' kernel has no device-mapper, so this boots Debian's own kernel
# (linux-image-amd64) under qemu (TCG: KVM is not usable here) with the host's root
# shared read-only over 9p: node, lvm2 and the project are all there. A tiny busybox
# initramfs loads the 9p modules, mounts that root and chroots into it; test/vm/guest.sh
# then makes a VG `lxc` with a thin pool `lxc` on a loop device and runs mocha on
# packages/storage-lvm/test. Its output comes back through a writable 9p share.
#
#   test/vm/run-lvm-tests.sh [mocha arguments]
#   test/vm/run-lvm-tests.sh --bench [--no-build] [bench/lvm-clone.ts options]
#
# Prints mocha's output and ends with "N passed, N failed, N skipped"; exits non-zero
# when a test failed or the run did not finish. BERTH_VM_TIMEOUT (seconds, default 1500)
# bounds the VM; qemu never outlives this script.
#
# With --bench the guest runs bench/lvm-clone.ts instead of mocha (same VG and pool):
# the CLI is built on the host first (`pnpm run build`, unless --no-build: the guest's
# root is read-only), the bench's output is printed and its JSON copied to bench/results/.
set -euo pipefail

# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/setup.sh"
berth_require_root
cd "$BERTH_ROOT"

VM_PACKAGES=(qemu-system-x86 linux-image-amd64 busybox-static lvm2 thin-provisioning-tools cpio)
# The module load order of the 9p root (each after what it needs).
NINEP_MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p)
timeout_s=${BERTH_VM_TIMEOUT:-1500}

bench=0
build=1
if [ "${1:-}" = --bench ]; then
  bench=1
  shift
  bench_args=()
  for arg in "$@"; do
    if [ "$arg" = --no-build ]; then build=0; else bench_args+=("$arg"); fi
  done
  # The guest tells the bench run from a mocha run by this first argument.
  set -- --bench ${bench_args[@]+"${bench_args[@]}"}
  # What the bench runs besides the tests' tools: lxc-create/lxc-copy, rsync (lxc-copy's copy).
  VM_PACKAGES+=(lxc rsync)
fi

berth_apt_install "${VM_PACKAGES[@]}"
[ -x node_modules/.bin/mocha ] || berth_die "no node_modules here: run scripts/test.sh (or pnpm install) first"
if [ "$bench" -eq 1 ] && [ "$build" -eq 1 ]; then
  berth_log "building the CLI for the bench (pnpm run build)"
  berth_quiet pnpm run build || berth_die "the build failed (--no-build measures the CLI as it is built now)"
fi

# The installed Debian kernel whose modules are there (not the running kernel).
kver=
for vmlinuz in /boot/vmlinuz-*; do
  candidate=${vmlinuz#/boot/vmlinuz-}
  [ -d "/lib/modules/$candidate/kernel" ] && kver=$candidate
done
[ -n "$kver" ] || berth_die "no /boot/vmlinuz-<version> with modules in /lib/modules (is linux-image-amd64 installed?)"

work=$(mktemp -d /tmp/berth-vm.XXXXXX)
qemu_pid=
cleanup() {
  local pid
  for pid in "$qemu_pid" "$(cat "$work/qemu.pid" 2>/dev/null || true)"; do
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { kill "$pid" 2>/dev/null || true; sleep 1; kill -9 "$pid" 2>/dev/null || true; }
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- initramfs
initramfs=$work/initramfs
mkdir -p "$initramfs"/{bin,dev,proc,sys,root,modules}
cp /bin/busybox "$initramfs/bin/busybox"
ln -s busybox "$initramfs/bin/sh"
for module in "${NINEP_MODULES[@]}"; do
  path=$(modinfo -k "$kver" -n "$module" 2>/dev/null || true)
  # Built into this kernel (modinfo names no file): nothing to load.
  case "$path" in /*) ;; *) continue ;; esac
  case "$path" in
    *.ko) cp "$path" "$initramfs/modules/$module.ko" ;;
    *.ko.xz) xz -dc "$path" >"$initramfs/modules/$module.ko" ;;
    *.ko.zst) zstd -qdc "$path" >"$initramfs/modules/$module.ko" ;;
    *) berth_die "cannot unpack module $path" ;;
  esac
  echo "$module" >>"$initramfs/modules/order"
done
guest_args=
[ $# -eq 0 ] || guest_args=$(printf ' %q' "$@")
cat >"$initramfs/init" <<INIT
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in \$(cat /modules/order); do insmod /modules/\$module.ko || echo "init: insmod \$module failed"; done
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /root; then
  mount -t proc proc /root/proc
  mount -t sysfs sysfs /root/sys
  mount -t devtmpfs devtmpfs /root/dev
  # The checkout may live under /tmp or /run (CI clones anywhere): hold it aside while
  # the guest's own tmpfs goes over those, then put it back at its path.
  mkdir -p /repo
  mount -o bind /root$BERTH_ROOT /repo
  mount -t tmpfs -o mode=0755 tmpfs /root/run
  mount -t tmpfs -o mode=1777,size=80% tmpfs /root/tmp
  mkdir -p /root$BERTH_ROOT
  mount -o move /repo /root$BERTH_ROOT
  mkdir -p /root/tmp/results
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results /root/tmp/results
  echo "init: running the tests"
  chroot /root /bin/bash $BERTH_ROOT/test/vm/guest.sh$guest_args
  umount /root/tmp/results
else
  echo "init: cannot mount the host root over 9p"
fi
sync
poweroff -f
INIT
chmod +x "$initramfs/init"
(cd "$initramfs" && find . | cpio --quiet -o -H newc | gzip -1 >"$work/initramfs.gz")
mkdir -p "$work/results"

# ---------------------------------------------------------------- boot
what="the LVM tests"
[ "$bench" -eq 0 ] || what="bench/lvm-clone.ts"
berth_log "booting Debian's kernel $kver in qemu (TCG) to run $what (timeout ${timeout_s}s)"
# One boot of the VM: sets timed_out and elapsed; the guest leaves its results in $work/results.
boot_vm() {
  started=$(date +%s)
  qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
    -kernel "/boot/vmlinuz-$kver" -initrd "$work/initramfs.gz" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
    -virtfs "local,path=$work/results,mount_tag=results,security_model=passthrough" \
    -append "console=ttyS0 quiet panic=-1" \
    -nographic -no-reboot -pidfile "$work/qemu.pid" \
    </dev/null >"$work/console.log" 2>&1 &
  qemu_pid=$!
  timed_out=0
  while kill -0 "$qemu_pid" 2>/dev/null; do
    if [ $(( $(date +%s) - started )) -ge "$timeout_s" ]; then
      timed_out=1
      kill "$qemu_pid" 2>/dev/null || true
      break
    fi
    sleep 1
  done
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=
  elapsed=$(( $(date +%s) - started ))
}
boot_vm
# Node (V8's JIT) under TCG emulation has crashed at start-up now and then, before mocha
# ran a single test (guest status 139, SIGSEGV). A crash before any summary gets one more
# boot, and says so; a crash that comes back fails the run as before.
if [ "$bench" -eq 0 ] && [ "$timed_out" -eq 0 ] && [ -z "$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/results/mocha.log" 2>/dev/null)" ]; then
  first_status=$(cat "$work/results/status" 2>/dev/null || echo none)
  if [ "$first_status" != none ] && [ "$first_status" -gt 128 ] 2>/dev/null; then
    berth_log "mocha died by signal $((first_status - 128)) in the VM after ${elapsed}s, before any test summary; booting once more"
    if [ -s "$work/results/crash.log" ]; then sed 's/^/==>   guest dmesg: /' "$work/results/crash.log" >&2; fi
    rm -rf "${work:?}/results" && mkdir -p "$work/results"
    boot_vm
  fi
fi

# ---------------------------------------------------------------- report
if [ "$bench" -eq 1 ]; then
  if [ -f "$work/results/bench.log" ]; then cat "$work/results/bench.log"; fi
  status=$(cat "$work/results/status" 2>/dev/null || echo none)
  copied=
  for json in "$work"/results/bench/*.json; do
    [ -f "$json" ] || continue
    mkdir -p bench/results
    cp "$json" bench/results/
    copied="$copied bench/results/$(basename "$json")"
  done
  if [ "$timed_out" -eq 1 ] || [ "$status" != 0 ]; then
    echo "--- VM console" && tail -n 40 "$work/console.log" || true
    echo "--- guest log" && cat "$work/results/guest.log" 2>/dev/null || true
    if [ "$timed_out" -eq 1 ]; then echo "bench: the VM did not finish within ${timeout_s}s and was stopped"
    else echo "bench: the VM ended after ${elapsed}s, guest status $status"; fi
    exit 1
  fi
  echo "bench: the VM ran for ${elapsed}s (kernel $kver); JSON:${copied:- none}"
  exit 0
fi
if [ -f "$work/results/mocha.log" ]; then cat "$work/results/mocha.log"; fi
status=$(cat "$work/results/status" 2>/dev/null || echo none)
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$work/results/mocha.log" 2>/dev/null | tail -n 1 || true)
if [ "$timed_out" -eq 1 ] || [ "$status" = none ] || [ -z "$summary" ]; then
  echo "--- VM console" && tail -n 40 "$work/console.log" || true
  echo "--- guest log" && cat "$work/results/guest.log" 2>/dev/null || true
  if [ "$timed_out" -eq 1 ]; then echo "test:lvm: the VM did not finish within ${timeout_s}s and was stopped"
  else echo "test:lvm: the VM ended after ${elapsed}s without a test summary (guest status: $status)"; fi
  echo
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi
echo "test:lvm: the VM ran for ${elapsed}s (kernel $kver, guest exit status $status)"
echo
echo "$summary"
failed=$(echo "$summary" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
[ "$failed" -eq 0 ] && [ "$status" = 0 ]
