#!/usr/bin/env bash
# berth's main job, on its default backend (dir), in a demo lxcpath. As root on Debian 12:
#
#   ./scripts/demo.sh           set up (packages, Node, pnpm, build), then run the demo
#   ./scripts/demo.sh --clean   remove the demo containers (and the lxcpath, if then empty)
#
# The lxcpath is $BERTH_DEMO_LXCPATH (default /var/lib/berth-demo). A rerun first
# removes what an earlier demo left there.
set -euo pipefail

clean=0
case "${1:-}" in
  "") ;;
  --clean) clean=1 ;;
  -h | --help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--clean]" >&2; exit 2 ;;
esac

# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
berth_setup

lxcpath=${BERTH_DEMO_LXCPATH:-/var/lib/berth-demo}
bin="$BERTH_ROOT/packages/cli/dist/berth.cjs"
containers=(demo-clone demo-copy demo-base) # dependents before what they depend on

# Shows, then runs, one berth command.
berth() {
  local shown="" arg
  for arg in "$@"; do
    case "$arg" in *[!A-Za-z0-9_./=-]*) shown+=" \"$arg\"" ;; *) shown+=" $arg" ;; esac
  done
  printf '\n$ berth -P %s%s\n' "$lxcpath" "$shown"
  "$bin" -P "$lxcpath" "$@"
}

remove_demo_containers() {
  local name
  [ -d "$lxcpath" ] || return 0
  for name in "${containers[@]}"; do
    if [ -e "$lxcpath/$name/config" ]; then
      berth destroy -s "$name"
    elif [ -e "$lxcpath/$name" ]; then
      # No config: a creation that died before writing it; nothing refers to it.
      echo "removing the unfinished $lxcpath/$name"
      rm -rf --one-file-system "${lxcpath:?}/$name"
    fi
  done
}

if [ "$clean" -eq 1 ]; then
  berth_log "removing the demo containers from $lxcpath"
  remove_demo_containers
  # berth's own state (journal, scratch mountpoints) goes with the last container;
  # rmdir keeps whatever else is there.
  rmdir "$lxcpath/.berth/journal" "$lxcpath/.berth/mnt" "$lxcpath/.berth" "$lxcpath" 2>/dev/null || true
  exit 0
fi

if [ -d "$lxcpath" ]; then
  berth_log "removing the containers of an earlier demo from $lxcpath"
  remove_demo_containers
fi

berth_log "demo: lxcpath $lxcpath, backend dir"
berth create demo-base -t busybox
berth copy demo-base demo-copy
berth copy -s demo-base demo-clone
berth snapshot demo-copy -c "first snapshot"
berth snapshot list demo-copy
berth ls

printf '\nLXC sees the same containers:\n$ lxc-ls -P %s -f\n' "$lxcpath"
lxc-ls -P "$lxcpath" -f

cat <<EOF

Clean up with  ./scripts/demo.sh --clean  or by hand (a clone before its base;
-s: with its snapshots):
  $bin -P $lxcpath destroy -s demo-clone demo-copy demo-base
EOF
