import {
  createBerth,
  DEFAULT_CONFIG_PATH,
  describeError,
  LXC_DEFAULTS,
  loadPluginsFromConfig,
  type BerthModule,
  type LoadedModules,
  type ModuleImporter,
  type PluginFailure,
  type StorageDriver,
} from '@berth/core';

/** The plugin config file: `$BERTH_CONFIG`, else `/etc/berth/config.json`. */
export function pluginConfigPath(env: Readonly<Record<string, string | undefined>>): string {
  return env.BERTH_CONFIG || DEFAULT_CONFIG_PATH;
}

/**
 * Loads the third-party modules the config file names, then tries each one beside the
 * builtins (and the plugins accepted before it): a module whose registration throws,
 * whose driver cannot be constructed, is malformed, or claims a type another driver
 * has, is reported and skipped rather than taking the whole CLI down with it.
 */
export async function loadConfiguredPlugins(
  configPath: string,
  builtins: readonly BerthModule[],
  importer?: ModuleImporter,
): Promise<LoadedModules> {
  const loaded = await loadPluginsFromConfig(configPath, importer);
  const accepted: BerthModule[] = [];
  const failures: PluginFailure[] = [...loaded.failures];
  for (const module of loaded.modules) {
    const specifier = `${module.kind} module ${module.name}`;
    try {
      const trial = await createBerth({ modules: [...builtins, ...accepted, module], system: LXC_DEFAULTS, lxcpath: '/nonexistent', dryRun: true });
      for (const driver of trial.berth.drivers.storageDrivers()) checkStorageDriver(driver);
      for (const driver of trial.berth.drivers.networkDrivers()) {
        if (typeof driver.type !== 'string') throw new Error('a network driver has no type');
      }
      accepted.push(module);
    } catch (error) {
      failures.push({ specifier, reason: describeError(error) });
    }
  }
  return { modules: accepted, failures };
}

/** What the CLI relies on in a driver object from outside the monorepo. */
function checkStorageDriver(driver: StorageDriver): void {
  const problems: string[] = [];
  if (typeof driver.type !== 'string' || driver.type === '') problems.push('no type');
  if (!Array.isArray(driver.aliases)) problems.push('no aliases array');
  if (typeof driver.capabilities !== 'object' || driver.capabilities === null) problems.push('no capabilities');
  const schema = driver.optionsSchema as unknown as { shape?: unknown; safeParse?: unknown } | undefined;
  if (typeof schema?.safeParse !== 'function' || typeof schema.shape !== 'object') problems.push('no zod object optionsSchema');
  for (const method of ['probe', 'detect', 'create', 'mount', 'unmount', 'destroy'] as const) {
    if (typeof driver[method] !== 'function') problems.push(`no ${method}()`);
  }
  if (problems.length > 0) throw new Error(`storage driver ${String(driver.type)}: ${problems.join(', ')}`);
}
