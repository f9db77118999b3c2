'use strict';
// Install step: builds the addon with node-gyp (the one npm or pnpm provides, else one
// on PATH). A failed build is not an install failure: the package then reports
// `available: false` and berth's btrfs driver runs btrfs-progs instead.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

if (process.platform !== 'linux') process.exit(0);
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
try {
  execFileSync(command, args, { cwd: join(__dirname, '..'), stdio: 'inherit' });
} catch (error) {
  console.warn(`@berth/btrfs-ioctl: the addon was not built (${error.message.split('\n')[0]}); berth will use the btrfs command instead`);
}
