import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';
import { BerthError, describeError, errnoCode } from './errors.js';
import { validateModule, type BerthModule } from './contracts/module.js';

/**
 * Third-party driver packages, named in a JSON config file (`/etc/berth/config.json` or
 * `BERTH_CONFIG`): `{ "plugins": ["@acme/berth-storage-ceph", "./local/driver.js"] }`.
 * Each is loaded by dynamic import; its default export (or `berthModule` export, or an
 * array of either) must be a valid module descriptor. A plugin that fails to load or
 * validate is reported and skipped: berth and its other drivers keep working.
 */
export interface PluginFailure {
  readonly specifier: string;
  readonly reason: string;
}

export interface LoadedModules {
  readonly modules: readonly BerthModule[];
  readonly failures: readonly PluginFailure[];
}

export const LOADED_MODULES = Symbol.for('berth.LoadedModules');

export const DEFAULT_CONFIG_PATH = '/etc/berth/config.json';

const configFileSchema = z.strictObject({
  plugins: z.array(z.string().min(1)).default([]).describe('Driver packages or module paths to load'),
});

export type BerthConfigFile = z.infer<typeof configFileSchema>;

export async function readConfigFile(path: string): Promise<BerthConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { plugins: [] };
    throw BerthError.wrap(error, 'InvalidArgument', `cannot read ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BerthError('InvalidArgument', `${path}: not JSON: ${describeError(error)}`);
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BerthError('InvalidArgument', `${path}: ${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Imports one plugin module: `import()` by default. A host that loads berth in an
 * unusual way (the bundled CLI compiles itself with V8's code cache, where `import()`
 * is unavailable) passes its own.
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

const importModule: ModuleImporter = (specifier) => import(specifier);

export async function loadPlugins(specifiers: readonly string[], baseDir: string, importer: ModuleImporter = importModule): Promise<LoadedModules> {
  const modules: BerthModule[] = [];
  const failures: PluginFailure[] = [];
  for (const specifier of specifiers) {
    try {
      modules.push(...(await loadPlugin(specifier, baseDir, importer)));
    } catch (error) {
      failures.push({ specifier, reason: describeError(error) });
    }
  }
  return { modules, failures };
}

async function loadPlugin(specifier: string, baseDir: string, importer: ModuleImporter): Promise<BerthModule[]> {
  const isPath = specifier.startsWith('.') || isAbsolute(specifier);
  const target = isPath ? pathToFileURL(resolve(baseDir, specifier)).href : specifier;
  let namespace: Record<string, unknown>;
  try {
    namespace = (await importer(target)) as Record<string, unknown>;
  } catch (error) {
    throw new BerthError('Unavailable', `cannot load: ${describeError(error)}`, { cause: error });
  }
  const exported = namespace.berthModule ?? namespace.default;
  if (exported === undefined) throw new BerthError('InvalidArgument', 'exports no berthModule and no default');
  const list = Array.isArray(exported) ? exported : [exported];
  return list.map((value, i) => validateModule(value, list.length > 1 ? `export #${i}` : 'export'));
}

export async function loadPluginsFromConfig(path: string, importer?: ModuleImporter): Promise<LoadedModules> {
  try {
    const config = await readConfigFile(path);
    return await loadPlugins(config.plugins, dirname(path), importer);
  } catch (error) {
    return { modules: [], failures: [{ specifier: path, reason: describeError(error) }] };
  }
}
