import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { createBerth, DriverRegistry, loadPlugins, loadPluginsFromConfig, readConfigFile, validateModule } from '@berth/core';
import { dirModule } from '@berth/storage-dir';
import { expectBerthError, expectThrowsBerth, FIXTURES, TempDirs } from './helpers.js';

const PLUGINS = join(FIXTURES, 'plugins');

describe('plugin loader', () => {
  const temp = new TempDirs();
  after(() => temp.cleanup());

  it('loads the good plugin and reports each broken one with its reason', async () => {
    const loaded = await loadPluginsFromConfig(join(PLUGINS, 'config.json'));
    expect(loaded.modules.map((m) => m.name)).to.deep.equal(['fake']);
    expect(loaded.modules[0]).to.deep.include({ kind: 'storage', version: '9.9.9' });
    expect(loaded.failures.map((f) => f.specifier)).to.deep.equal(['./throws.mjs', './bad-descriptor.mjs']);
    expect(loaded.failures[0]!.reason).to.include('cannot load').and.include('plugin exploded on import');
    expect(loaded.failures[1]!.reason).to.include('bad module descriptor').and.include('kind');
    for (const failure of loaded.failures) expect(failure.reason).to.not.include('\n');
  });

  it('composes a berth from what loaded, with the driver registered and failures kept', async () => {
    const loaded = await loadPluginsFromConfig(join(PLUGINS, 'config.json'));
    const lxcpath = await temp.make();
    const { berth, container } = await createBerth({ modules: [dirModule, ...loaded.modules], pluginFailures: loaded.failures, lxcpath });
    const registry = container.resolve(DriverRegistry);
    expect(registry.storageDrivers().map((d) => d.type)).to.deep.equal(['dir', 'fake']);
    expect(registry.findStorage('fakefs')?.type).to.equal('fake');
    expect(registry.modules.failures).to.have.length(2);
    expect(registry.modules.modules.map((m) => m.name)).to.deep.equal(['dir', 'fake']);
    // The broken plugins cost nothing: the other drivers still work.
    const created = await berth.create({ name: 'c' });
    expect(created.backend).to.equal('dir');
    // And the plugin's driver is the one asked for its backend (it says it is unavailable).
    const error = await expectBerthError(berth.create({ name: 'f', backend: 'fake' }), 'Unavailable');
    expect(error.message).to.include('fake backend for tests');
  });

  it('reports a malformed config file instead of throwing', async () => {
    const loaded = await loadPluginsFromConfig(join(PLUGINS, 'malformed.json'));
    expect(loaded.modules).to.deep.equal([]);
    expect(loaded.failures).to.have.length(1);
    expect(loaded.failures[0]!.specifier).to.equal(join(PLUGINS, 'malformed.json'));
    expect(loaded.failures[0]!.reason).to.include('not JSON');
  });

  it('reports unknown keys in the config file', async () => {
    const loaded = await loadPluginsFromConfig(join(PLUGINS, 'unknown-key.json'));
    expect(loaded.modules).to.deep.equal([]);
    expect(loaded.failures).to.have.length(1);
    await expectBerthError(readConfigFile(join(PLUGINS, 'unknown-key.json')), 'InvalidArgument');
  });

  it('treats a missing config file as no plugins', async () => {
    const dir = await temp.make();
    expect(await loadPluginsFromConfig(join(dir, 'absent.json'))).to.deep.equal({ modules: [], failures: [] });
  });

  it('resolves relative plugin paths from the config file’s directory', async () => {
    const dir = await temp.make();
    await writeFile(join(dir, 'config.json'), JSON.stringify({ plugins: [join(PLUGINS, 'good.mjs'), './missing.mjs', '@berth/no-such-package'] }));
    const loaded = await loadPluginsFromConfig(join(dir, 'config.json'));
    expect(loaded.modules.map((m) => m.name)).to.deep.equal(['fake']);
    expect(loaded.failures.map((f) => f.specifier)).to.deep.equal(['./missing.mjs', '@berth/no-such-package']);
    for (const failure of loaded.failures) expect(failure.reason).to.match(/cannot load/);
  });

  it('accepts an array export and names a bad element', async () => {
    const dir = await temp.make();
    await writeFile(
      join(dir, 'two.mjs'),
      `export default [{ kind: 'network', name: 'n1', register() {} }, { kind: 'storage', name: 'Bad Name', register() {} }];\n`,
    );
    const loaded = await loadPlugins(['./two.mjs'], dir);
    expect(loaded.modules).to.deep.equal([]);
    expect(loaded.failures[0]!.reason).to.include('export #1').and.include('name');
    await writeFile(join(dir, 'none.mjs'), 'export const other = 1;\n');
    const none = await loadPlugins(['./none.mjs'], dir);
    expect(none.failures[0]!.reason).to.include('exports no berthModule and no default');
  });

  it('validateModule checks kind, name and register', () => {
    expect(validateModule({ kind: 'storage', name: 'ok', register() {} }, 'x').name).to.equal('ok');
    expectThrowsBerth(() => validateModule({ kind: 'storage', name: 'ok' }, 'x'), 'InvalidArgument');
    expectThrowsBerth(() => validateModule({ kind: 'bogus', name: 'ok', register() {} }, 'x'), 'InvalidArgument');
    expectThrowsBerth(() => validateModule(null, 'x'), 'InvalidArgument');
  });
});
