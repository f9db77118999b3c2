'use strict';
/*
 * @berth/btrfs-ioctl: btrfs subvolume snapshot, create and destroy without spawning
 * `btrfs`. The addon is built when the package is installed; where it could not be
 * (no compiler, not Linux), `available` is false and `unavailableReason` says why, and
 * callers use btrfs-progs instead.
 */
const { constants } = require('node:os');

const errnoNames = new Map(Object.entries(constants.errno).map(([name, value]) => [value, name]));

let binding;
let unavailableReason;
try {
  binding = require('./build/Release/btrfs_ioctl.node');
} catch (error) {
  unavailableReason =
    error && error.code === 'MODULE_NOT_FOUND'
      ? 'the btrfs-ioctl addon is not built (it needs a C compiler and Node.js headers at install time)'
      : `the btrfs-ioctl addon does not load: ${error && error.message}`;
}

/** Gives the addon's rejection a Node-style `code` and message ("EEXIST: file exists, ioctl '/x'"). */
function withCode(promise) {
  return promise.catch((error) => {
    if (typeof error.errno === 'number') {
      error.code = errnoNames.get(error.errno) ?? `E${error.errno}`;
      error.message = `${error.code}: ${error.message.toLowerCase()}, ${error.syscall} '${error.path}'`;
    }
    throw error;
  });
}

function need() {
  if (!binding) throw new Error(unavailableReason);
  return binding;
}

module.exports = {
  available: binding !== undefined,
  unavailableReason,
  snapshot: (source, dir, name, readOnly = false) => withCode(need().snapshot(source, dir, name, readOnly)),
  create: (dir, name) => withCode(need().create(dir, name)),
  destroy: (dir, name) => withCode(need().destroy(dir, name)),
};
