'use strict';
/*
 * @berth/fcntl-lock: whole-file fcntl locks, tried synchronously (F_SETLK never waits).
 * The addon is built when the package is installed; berth cannot lock without it, so
 * where it could not be built, every call throws the reason.
 */
const { constants } = require('node:os');

const errnoNames = new Map(Object.entries(constants.errno).map(([name, value]) => [value, name]));

let binding;
let unavailableReason;
try {
  binding = require('./build/Release/fcntl_lock.node');
} catch (error) {
  unavailableReason =
    error && error.code === 'MODULE_NOT_FOUND'
      ? 'the @berth/fcntl-lock addon is not built: it needs a C compiler, make, python3 and Node.js headers when the package is installed (scripts/setup.sh installs them; then run pnpm install again)'
      : `the @berth/fcntl-lock addon does not load: ${error && error.message}`;
}

function call(fn) {
  if (!binding) throw new Error(unavailableReason);
  try {
    return fn(binding);
  } catch (error) {
    if (error && typeof error.errno === 'number') {
      error.code = errnoNames.get(error.errno) ?? `E${error.errno}`;
      error.message = `${error.code}: ${String(error.message).toLowerCase()}, fcntl`;
    }
    throw error;
  }
}

// Assigned one by one, so that ESM importers get named exports.
exports.available = binding !== undefined;
exports.unavailableReason = unavailableReason;
exports.tryLock = (fd, exclusive) => call((b) => b.tryLock(fd, exclusive === true));
exports.unlock = (fd) => call((b) => b.unlock(fd));
