# Shared setup for scripts/demo.sh and scripts/test.sh (sourced, not run).
#
# berth_setup brings a fresh Debian 12 machine (as root) to the point where berth
# builds and its tests run: the system tools the drivers and tests call, Node >= 20.19,
# pnpm 9, the workspace's dependencies and a build. Every step checks first and does
# nothing when its part is already there, so running it again is cheap and safe.

BERTH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The host tools the drivers and the tests call: a driver or test that starts calling
# another one adds its package here (a missing tool is a setup bug, not a skip).
BERTH_SYSTEM_PACKAGES=(
  lxc            # lxc-create/-start/-attach/-snapshot/-destroy/-ls: the interop tests
  busybox-static # lxc-create -t busybox
  rsync          # dir copies (rsync -aHXS)
  btrfs-progs    # btrfs backend, mkfs.btrfs
  zfs-fuse       # zfs backend tests: ZFS in user space (this kernel has no ZFS module)
  xfsprogs       # mkfs.xfs, xfs_admin
  e2fsprogs      # mkfs.ext4, the default fstype
  acl            # getfacl/setfacl: copies keep ACLs
  attr           # getfattr/setfattr: copies keep xattrs
  iproute2       # ip: network namespaces, veth, macvlan
  util-linux     # losetup, mount, umount, nsenter, unshare
  kmod           # modprobe
  procps         # sysctl: proxy_arp/proxy_ndp of veth router mode
  tar xz-utils   # --tarball sources
  # Native addons built at install (@berth/fcntl-lock, @berth/btrfs-ioctl): node-gyp
  # needs a C compiler, make and python3 (Node's headers come with Node).
  gcc make python3 libc6-dev linux-libc-dev
  # The LVM tests' VM (test/vm/, pnpm test:lvm): this kernel has no device-mapper.
  # linux-image-amd64 only puts Debian's kernel and modules in /boot and /lib/modules
  # (and an initrd, by initramfs-tools): the machine keeps booting its own.
  qemu-system-x86 linux-image-amd64 lvm2 thin-provisioning-tools cpio
)

berth_log() { printf '==> %s\n' "$*" >&2; }
berth_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command with its output kept aside, shown only if it fails.
berth_quiet() {
  local out status=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || status=$?
  [ "$status" -eq 0 ] || { cat "$out" >&2; printf 'error: %s failed (exit %s)\n' "$*" "$status" >&2; }
  rm -f "$out"
  return "$status"
}

berth_require_root() {
  [ "$(id -u)" -eq 0 ] || berth_die "run this as root (berth mounts, attaches loop devices and starts containers); e.g. sudo $0"
}

berth_package_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

BERTH_APT_UPDATED=0
# Installs the given Debian packages that are not installed yet.
berth_apt_install() {
  local missing=() pkg
  for pkg in "$@"; do berth_package_installed "$pkg" || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || berth_die "missing packages ${missing[*]} and no apt-get: install them by hand"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$BERTH_APT_UPDATED" -eq 0 ]; then
    berth_log "apt-get update"
    berth_quiet apt-get update
    BERTH_APT_UPDATED=1
  fi
  berth_log "apt-get install ${missing[*]}"
  berth_quiet apt-get install -y --no-install-recommends "${missing[@]}"
}

# True when `node` is at least 20.19.
berth_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

berth_ensure_node() {
  berth_node_ok && return 0
  berth_log "Node >= 20.19 not found; installing Debian's nodejs and npm"
  berth_apt_install nodejs npm
  hash -r
  if ! berth_node_ok; then
    # Debian 12 ships Node 18; the npm package `node` carries a Node 20 binary.
    berth_log "node $(node --version 2>/dev/null || echo missing) is too old; npm install -g node@20"
    berth_quiet npm install -g --no-fund --no-audit node@20
    hash -r
  fi
  berth_node_ok || berth_die "berth needs Node >= 20.19 and $(command -v node || echo node) is $(node --version 2>/dev/null || echo missing); install Node 20.19+ and rerun"
}

berth_pnpm_ok() {
  command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null | cut -d. -f1)" = 9 ]
}

# pnpm 9, the workspace's packageManager. Corepack's signature check fails against the
# registry reachable here, so it comes from npm.
berth_ensure_pnpm() {
  berth_pnpm_ok && return 0
  command -v npm >/dev/null 2>&1 || berth_apt_install npm
  berth_log "installing pnpm 9 (npm install -g pnpm@9)"
  berth_quiet npm install -g --no-fund --no-audit pnpm@9
  hash -r
  berth_pnpm_ok || berth_die "pnpm 9 is not on PATH after npm install -g pnpm@9 (found: $(command -v pnpm || echo none) $(pnpm --version 2>/dev/null))"
}

# Dependencies from the lockfile, then `pnpm run build`: `tsc -b` of every package and the CLI's bundle, dist/berth.cjs.
berth_build() {
  cd "$BERTH_ROOT"
  berth_log "pnpm install --frozen-lockfile"
  # confirmModulesPurge=false: never stop to ask (there is no stdin in CI).
  berth_quiet pnpm install --frozen-lockfile --config.confirmModulesPurge=false
  berth_log "pnpm run build"
  pnpm run --silent build || berth_die "the build failed (tsc's errors are above)"
}

berth_setup() {
  berth_require_root
  berth_apt_install "${BERTH_SYSTEM_PACKAGES[@]}"
  berth_ensure_node
  berth_ensure_pnpm
  berth_build
}
