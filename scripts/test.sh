#!/usr/bin/env bash
# berth's test command (README; CI runs it through .ci/run). As root on Debian 12:
#
#   ./scripts/test.sh                 every package's tests, against the real backends
#   ./scripts/test.sh FILE... [-g RE] only some (arguments go to mocha)
#
# It installs what is missing (system packages, Node, pnpm, dependencies), builds, runs
# mocha over packages/*/test, reports kernel state the tests left behind, and ends with
# the line "N passed, N failed, N skipped". Exit status: 0 only if nothing failed.
# BERTH_TEST_TIMEOUT bounds the mocha run (default 75m, inside CI's 90 minutes).
set -euo pipefail

# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
berth_setup
cd "$BERTH_ROOT"

mkdir -p .test-tmp
log=.test-tmp/test-run.log
summary_pattern='^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'

# Kernel state a test run must never leave behind (tests clean up even when they
# fail). Taken before and after, so only what appeared during the run is reported:
# other work on the machine may hold loop devices or mounts of its own.
kernel_state() {
  losetup -a 2>/dev/null | sed 's/^/loop device attached: /' || true
  awk '$3 ~ /^(btrfs|xfs|ext4|overlay|fuse\.zfs|tmpfs)$/ && $2 ~ /^\/(tmp|var\/tmp)\/|\/\.test-tmp\// { print "mount: " $2 " (" $3 ")" }' /proc/mounts
  pgrep -a -f '^\[lxc monitor\] ' 2>/dev/null | sed 's/^[0-9]* \[lxc monitor\] /container running: /' || true
  ip netns list 2>/dev/null | cut -d' ' -f1 | sed 's/^/network namespace: /' || true
}
before_state=$(kernel_state | sort)
echo "$before_state" | grep -E 'berth|\.test-tmp' | sed 's/^/note: left by an earlier run or other work: /' >&2 || true

berth_log "mocha (output also in $log)"
status=0
# A hung backend must not eat CI's time. SIGINT, which mocha passes on to its worker
# process; --foreground keeps Ctrl-C working in a terminal.
timeout --foreground --signal=INT --kill-after=60 "${BERTH_TEST_TIMEOUT:-75m}" ./node_modules/.bin/mocha "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}

# The LVM thin tests need device-mapper, which only a qemu VM has here: `pnpm test:lvm`
# (test/vm/run-lvm-tests.sh, about 8 minutes) runs them there, on a full run only (no
# arguments; BERTH_SKIP_LVM_VM=1 leaves it out); its counts join the closing line.
lvm_summary=
if [ $# -eq 0 ] && [ "${BERTH_SKIP_LVM_VM:-0}" != 1 ]; then
  lvm_log=.test-tmp/test-lvm.log
  berth_log "pnpm test:lvm: the LVM tests in a qemu VM (output also in $lvm_log)"
  bash test/vm/run-lvm-tests.sh 2>&1 | tee "$lvm_log" || true
  lvm_summary=$(grep -E "$summary_pattern" "$lvm_log" | tail -n 1 || true)
  [ -n "$lvm_summary" ] || lvm_summary='0 passed, 1 failed, 0 skipped'
  echo "LVM tests in the VM: $lvm_summary"
fi

comm -13 <(echo "$before_state") <(kernel_state | sort) | sed 's/^/WARNING: the test run left this behind: /'

summary=$(grep -E "$summary_pattern" "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "test.sh: mocha did not finish within ${BERTH_TEST_TIMEOUT:-75m} and was stopped"
  else
    echo "test.sh: mocha ended (exit $status) before printing its summary; see $log"
  fi
  exit $(( status == 0 ? 1 : status ))
fi
if [ -n "$lvm_summary" ]; then
  count() { echo "$1" | sed -E "s/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\\$2/"; }
  summary="$(( $(count "$summary" 1) + $(count "$lvm_summary" 1) )) passed, $(( $(count "$summary" 2) + $(count "$lvm_summary" 2) )) failed, $(( $(count "$summary" 3) + $(count "$lvm_summary" 3) )) skipped"
fi
failed=$(echo "$summary" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "test.sh: mocha exited $status after its summary (a crash or a hang after the run); counting the run as failed"
fi
# The closing line, last, for CI and for people.
echo
echo "$summary"
if [ "$failed" -ne 0 ]; then exit 1; fi
exit "$status"
