#!/usr/bin/env bash
# Builds, once, the rootfs the copy benchmark copies: a Debian bookworm minbase made by
# debootstrap from the mirror apt already uses here, cached under
# /var/cache/berth-bench/minbase. If debootstrap cannot run, a synthetic tree of the
# same shape (about 7k files, 200 MB, hardlinks, symlinks) is made instead, and this
# script says so (and records it in /var/cache/berth-bench/minbase.kind).
#
# Usage: bench/prepare-rootfs.sh [--force] [--synthetic]
# Prints the rootfs path on the last line of stdout.
set -euo pipefail

CACHE=${BERTH_BENCH_CACHE:-/var/cache/berth-bench}
DEST="$CACHE/minbase"
KIND_FILE="$CACHE/minbase.kind"
SUITE=bookworm
force=0
synthetic=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --synthetic) synthetic=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "prepare-rootfs: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then log "must run as root"; exit 1; fi

if [ "$force" = 1 ]; then rm -rf --one-file-system "$DEST" "$KIND_FILE"; fi
if [ -d "$DEST" ] && [ -f "$KIND_FILE" ]; then
  log "cached: $DEST ($(cat "$KIND_FILE"))"
  echo "$DEST"
  exit 0
fi
mkdir -p "$CACHE"
WORK="$DEST.tmp.$$"
cleanup() { rm -rf --one-file-system "$WORK"; }
trap cleanup EXIT

# The Debian mirror apt uses: the first URI of a deb822 stanza (or a one-line
# sources.list entry) whose suites include $SUITE.
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      function flush() { if (uri != "" && ok && types ~ /(^| )deb( |$)/) { print uri; found = 1; exit } uri = ""; ok = 0; types = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:" { types = ""; for (i = 2; i <= NF; i++) types = types " " $i; types = types " " }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (!found) flush() }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) print $i }' "$f"
  done
}

make_synthetic() {
  # ~7000 entries: 6000 small files (0.1-16 KiB), 900 medium (~100 KiB), 40 large
  # (~2.5 MiB), 300 hardlinks, 400 symlinks, 700 directories; about 200 MB.
  local root=$1 i d size
  mkdir -p "$root"
  for ((d = 0; d < 700; d++)); do mkdir -p "$root/usr/d$((d / 50))/s$d"; done
  for ((i = 0; i < 6000; i++)); do
    size=$(( (RANDOM % 16384) + 100 ))
    head -c "$size" /dev/urandom > "$root/usr/d$((i % 14))/s$((i % 700))/f$i"
  done
  for ((i = 0; i < 900; i++)); do
    size=$(( 60000 + RANDOM * 3 ))
    head -c "$size" /dev/urandom > "$root/usr/d$((i % 14))/s$((i % 700))/m$i"
  done
  mkdir -p "$root/usr/lib/big"
  for ((i = 0; i < 40; i++)); do head -c $((2500 * 1024)) /dev/urandom > "$root/usr/lib/big/b$i"; done
  for ((i = 0; i < 300; i++)); do ln "$root/usr/d$((i % 14))/s$((i % 700))/f$i" "$root/usr/d$((i % 14))/s$((i % 700))/h$i"; done
  for ((i = 0; i < 400; i++)); do ln -s "../s$(((i + 1) % 700))/f$((i + 1))" "$root/usr/d$((i % 14))/s$((i % 700))/l$i"; done
  mkdir -p "$root/etc" "$root/dev" "$root/tmp"
  chmod 1777 "$root/tmp"
  echo base > "$root/etc/hostname"
}

kind=""
if [ "$synthetic" = 0 ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2 || true
  fi
  mirror=$(find_mirror | head -n 1 || true)
  if [ -z "$mirror" ]; then mirror=http://deb.debian.org/debian; fi
  if command -v debootstrap >/dev/null 2>&1; then
    log "debootstrap --variant=minbase $SUITE from $mirror (a few minutes)"
    if debootstrap --variant=minbase "$SUITE" "$WORK" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
      kind="debootstrap minbase $SUITE from $mirror"
      rm -rf "$WORK"/var/cache/apt/archives/*.deb
    else
      log "debootstrap failed (see $CACHE/debootstrap.log); falling back to a synthetic tree"
      tail -n 5 "$CACHE/debootstrap.log" >&2 || true
      rm -rf --one-file-system "$WORK"
    fi
  else
    log "debootstrap is not available; falling back to a synthetic tree"
  fi
fi
if [ -z "$kind" ]; then
  log "SYNTHETIC rootfs: not a real Debian minbase"
  make_synthetic "$WORK"
  kind="synthetic (7k files, ~200 MB, hardlinks, symlinks)"
fi
echo base > "$WORK/etc/hostname"
mv "$WORK" "$DEST"
echo "$kind" > "$KIND_FILE"
log "$kind: $(find "$DEST" -xdev | wc -l) entries, $(du -sxh "$DEST" | cut -f1)"
echo "$DEST"
