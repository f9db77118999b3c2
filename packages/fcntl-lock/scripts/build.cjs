'use strict';
// Install step: builds the addon with node-gyp (the one npm or pnpm provides, else one
// on PATH). berth takes every lock through it, so a failed build fails the install,
// with node-gyp's reason above this line.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

if (process.platform !== 'linux') process.exit(0);
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
try {
  execFileSync(command, args, { cwd: join(__dirname, '..'), stdio: 'inherit' });
} catch (error) {
  console.error(`@berth/fcntl-lock: the addon was not built (${error.message.split('\n')[0]}): install gcc, make and python3, then run pnpm install again`);
  process.exit(1);
}
