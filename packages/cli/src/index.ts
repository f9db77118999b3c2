export { runCli } from './cli.js';
export { buildProgram } from './program.js';
export { builtinModules } from './builtins.js';
export { loadConfiguredPlugins, pluginConfigPath } from './plugins.js';
export { parseSize, formatBytes } from '@berth/core';
export { ExitCode, exitCodeOf } from './exit.js';
export type { CliIo } from './output.js';
