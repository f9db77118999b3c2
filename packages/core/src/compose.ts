import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { Berth, BERTH_SETTINGS, type BerthSettings } from './berth.js';
import type { BerthModule } from './contracts/module.js';
import { BerthEventEmitter, EVENTS } from './events.js';
import { HOST_FS, HostFs } from './host/fs.js';
import { LOCK_MANAGER, LockManager } from './host/lock.js';
import { COMMAND_RUNNER, DryRunRunner, ExecaRunner, type CommandRunner } from './host/runner.js';
import { readSystemConfig, type LxcSystemConfig } from './lxc/system.js';
import { LOADED_MODULES, type PluginFailure } from './plugins.js';
import { DriverRegistry } from './registry.js';
import { NETWORKS } from './contracts/network.js';
import { Networks } from './networks.js';

export interface CreateBerthOptions {
  /** The driver modules to register: the integrator's explicit list. */
  readonly modules: readonly BerthModule[];
  /** Where containers live; default `lxc.lxcpath` of the system config, else `/var/lib/lxc`. */
  readonly lxcpath?: string;
  /** Defaults to `/etc/lxc/lxc.conf` as read now. */
  readonly system?: LxcSystemConfig;
  /** Record mutating commands instead of running them (see `DryRunRunner.plan`). */
  readonly dryRun?: boolean;
  /** Replace the command runner (tests: a scripted fake). */
  readonly runner?: CommandRunner;
  readonly lockTimeoutMs?: number;
  /**
   * How many targets of one multi-target copy run at once. By default 32 for snapshot
   * clones (metadata work: more at once share the filesystem's commits) and 4 for full
   * copies (which move data: more at once only make the disk seek).
   */
  readonly copyConcurrency?: number;
  /** Plugins that failed to load, to be reported by `berth drivers`. */
  readonly pluginFailures?: readonly PluginFailure[];
  /** A parent container; a child is made from it (default: tsyringe's root, untouched). */
  readonly parent?: DependencyContainer;
  /**
   * Called after the core services and the modules are registered, before anything is
   * resolved: tests override a service here (`HOST_FS`, `COMMAND_RUNNER`).
   */
  readonly configure?: (container: DependencyContainer) => void;
}

export interface BerthInstance {
  readonly berth: Berth;
  readonly container: DependencyContainer;
  readonly runner: CommandRunner;
  readonly events: BerthEventEmitter;
}

/**
 * The composition root: a child DI container with the core services and the given
 * modules' drivers. Nothing is registered globally, so several instances (different
 * lxcpaths, dry-run and real) live side by side.
 */
export async function createBerth(options: CreateBerthOptions): Promise<BerthInstance> {
  const container = (options.parent ?? rootContainer).createChildContainer();
  const system = options.system ?? (await readSystemConfig());
  const events = new BerthEventEmitter();
  const real = options.runner ?? new ExecaRunner((argv) => events.emit('command:started', { argv, dryRun: false }));
  const runner = options.dryRun ? new DryRunRunner(real) : real;
  const settings: BerthSettings = {
    lxcpath: options.lxcpath ?? system.lxcpath,
    system,
    lockTimeoutMs: options.lockTimeoutMs ?? 60_000,
    ...(options.copyConcurrency !== undefined ? { copyConcurrency: options.copyConcurrency } : {}),
  };
  container.register(COMMAND_RUNNER, { useValue: runner });
  container.register(EVENTS, { useValue: events });
  container.register(BERTH_SETTINGS, { useValue: settings });
  container.register(LOCK_MANAGER, { useValue: new LockManager() });
  container.register(HOST_FS, { useClass: HostFs });
  container.register(LOADED_MODULES, { useValue: { modules: options.modules, failures: options.pluginFailures ?? [] } });
  for (const module of options.modules) module.register(container);
  options.configure?.(container);
  // No placeholder for a driver token nobody registered: the registry's optional
  // @injectAll gives [] then, whereas a `useValue: []` registration is collected as one
  // driver (`[[]]`).
  container.register(DriverRegistry, { useClass: DriverRegistry });
  container.register(NETWORKS, { useClass: Networks });
  const berth = container.resolve(Berth);
  return { berth, container, runner, events };
}
