import { inject, injectable } from 'tsyringe';
import { BERTH_SETTINGS, type BerthSettings } from './berth.js';
import type { NetnsRef, NetworkAttachment, NetworkDrift, NetworkKeys, NetworkSettings, NetworkTarget } from './contracts/network.js';
import { BerthError, describeError } from './errors.js';
import { HOST_FS, HostFs, readTextIfExists } from './host/fs.js';
import { LOCK_MANAGER, type LockManager } from './host/lock.js';
import { LxcConfig } from './lxc/config.js';
import { containerRef, paths, type ContainerRef } from './lxc/layout.js';
import { fillHwaddr, isHwaddrTemplate, networkIndices, networkKeysOf, setNetworkKeys } from './net/keys.js';
import { DriverRegistry } from './registry.js';

/** One `lxc.net.N` of a container's config. */
export interface ConfiguredNetwork {
  readonly index: number;
  /** `lxc.net.N.type`; `unknown` when missing. */
  readonly type: string;
  /** The keys as written, prefix stripped, in file order. */
  readonly keys: readonly (readonly [string, string])[];
  /** The driver's settings, when a driver for the type is registered and the keys are valid. */
  readonly settings?: NetworkSettings;
  /** Why there are no settings. */
  readonly problem?: string;
}

/** Where `attach`/`detach`/`check` wire: the container's netns, the host side, and which networks. */
export interface WiringRequest {
  readonly containerNetns: NetnsRef;
  /** Default: the caller's own namespace. */
  readonly hostNetns?: NetnsRef;
  /** Only this `lxc.net.N` (default: every one of a type berth has a driver for, in order). */
  readonly index?: number;
}

export interface NetworkCheck {
  readonly index: number;
  readonly type: string;
  readonly drift: readonly NetworkDrift[];
}

/**
 * The networks of a container: its `lxc.net.N.*` keys (add, list, remove, through the
 * network drivers' schemas) and their runtime wiring into a network namespace berth is
 * handed (attach, detach, check), for runtimes that start containers without LXC.
 * Config edits hold the container's lock; every other line of the config is kept.
 */
@injectable()
export class Networks {
  constructor(
    @inject(DriverRegistry) private readonly drivers: DriverRegistry,
    @inject(HOST_FS) private readonly fs: HostFs,
    @inject(LOCK_MANAGER) private readonly locks: LockManager,
    @inject(BERTH_SETTINGS) private readonly settings: BerthSettings,
  ) {}

  async list(name: string): Promise<ConfiguredNetwork[]> {
    const config = await this.readConfig(this.ref(name));
    return networkIndices(config).map((index) => this.describe(config, index));
  }

  /**
   * Adds `lxc.net.<next free N>` of `type`: the keys are checked against the driver's
   * schema (the bad key named), an `x` template in `hwaddr` is filled now and kept, and
   * `flags = up` is written unless `flags` is given (as LXC's default.conf does).
   */
  async add(name: string, type: string, keys: NetworkKeys): Promise<ConfiguredNetwork> {
    const ref = this.ref(name);
    const driver = this.drivers.networkDriver(type);
    return this.editConfig(ref, (config) => {
      const index = Math.max(-1, ...networkIndices(config)) + 1;
      const given = keys.some(([key]) => key === 'flags') ? keys : [...keys, ['flags', 'up'] as const];
      const settings = driver.parse(given, `lxc.net.${index}.`);
      const hwaddr = settings.hwaddr;
      const filled = typeof hwaddr === 'string' && isHwaddrTemplate(hwaddr) ? { ...settings, hwaddr: fillHwaddr(hwaddr) } : settings;
      setNetworkKeys(config, index, driver.render(filled));
      return this.describe(config, index);
    });
  }

  /** Removes `lxc.net.<index>.*`; the other indices keep their numbers. */
  async remove(name: string, index: number): Promise<ConfiguredNetwork> {
    const ref = this.ref(name);
    return this.editConfig(ref, (config) => {
      if (!networkIndices(config).includes(index)) throw new BerthError('NotFound', `container ${name} has no network lxc.net.${index}`);
      const removed = this.describe(config, index);
      config.deletePrefix(`lxc.net.${index}.`);
      return removed;
    });
  }

  /** Sets up the container's networks in `containerNetns`; a failure tears down those already set up. */
  async attach(name: string, request: WiringRequest): Promise<NetworkAttachment[]> {
    const networks = await this.wirable(name, request);
    const done: { network: ConfiguredNetwork; target: NetworkTarget }[] = [];
    const attachments: NetworkAttachment[] = [];
    try {
      for (const network of networks) {
        const target = this.target(name, network.index, request);
        attachments.push(await this.drivers.networkDriver(network.type).setup(network.settings!, target));
        done.push({ network, target });
      }
    } catch (error) {
      for (const { network, target } of done.reverse()) {
        await this.drivers.networkDriver(network.type).teardown(network.settings!, target).catch(() => undefined);
      }
      throw error;
    }
    return attachments;
  }

  /** Tears down what `attach` made, last network first; returns the indices handled. */
  async detach(name: string, request: WiringRequest): Promise<number[]> {
    const networks = await this.wirable(name, request);
    const failures: string[] = [];
    for (const network of [...networks].reverse()) {
      try {
        await this.drivers.networkDriver(network.type).teardown(network.settings!, this.target(name, network.index, request));
      } catch (error) {
        failures.push(`lxc.net.${network.index}: ${describeError(error)}`);
      }
    }
    if (failures.length > 0) throw new BerthError('CommandFailed', `detach ${name}: ${failures.join('; ')}`);
    return networks.map((n) => n.index);
  }

  async check(name: string, request: WiringRequest): Promise<NetworkCheck[]> {
    const networks = await this.wirable(name, request);
    const checks: NetworkCheck[] = [];
    for (const network of networks) {
      const drift = await this.drivers.networkDriver(network.type).check(network.settings!, this.target(name, network.index, request));
      checks.push({ index: network.index, type: network.type, drift });
    }
    return checks;
  }

  // ---------------------------------------------------------------- helpers

  private ref(name: string): ContainerRef {
    return containerRef(this.settings.lxcpath, name);
  }

  private target(name: string, index: number, request: WiringRequest): NetworkTarget {
    return { containerName: name, index, containerNetns: request.containerNetns, ...(request.hostNetns ? { hostNetns: request.hostNetns } : {}) };
  }

  /** The networks to wire: valid, with a driver; `index` picks one. */
  private async wirable(name: string, request: WiringRequest): Promise<ConfiguredNetwork[]> {
    const all = await this.list(name);
    const chosen = request.index === undefined ? all.filter((n) => n.type !== 'empty' && n.type !== 'none') : all.filter((n) => n.index === request.index);
    if (request.index !== undefined && chosen.length === 0) throw new BerthError('NotFound', `container ${name} has no network lxc.net.${request.index}`);
    for (const network of chosen) {
      if (!network.settings) throw new BerthError('InvalidArgument', `lxc.net.${network.index} of ${name}: ${network.problem ?? 'invalid'}`);
      const driver = this.drivers.networkDriver(network.type);
      const availability = await this.drivers.probe(driver);
      if (!availability.available) throw new BerthError('Unavailable', `network type ${driver.type} is unavailable: ${availability.reason}`);
    }
    return chosen;
  }

  private describe(config: LxcConfig, index: number): ConfiguredNetwork {
    const keys = networkKeysOf(config, index);
    const type = [...keys].reverse().find(([key]) => key === 'type')?.[1] ?? 'unknown';
    const base = { index, type, keys };
    const driver = this.drivers.networkDrivers().find((d) => d.type === type);
    if (!driver) return { ...base, problem: `no network driver for type "${type}"` };
    try {
      return { ...base, settings: driver.parse(keys, `lxc.net.${index}.`) };
    } catch (error) {
      return { ...base, problem: describeError(error) };
    }
  }

  private async readConfig(ref: ContainerRef): Promise<LxcConfig> {
    const text = await readTextIfExists(paths.config(ref));
    if (text === undefined) throw new BerthError('NotFound', `container ${ref.name} does not exist in ${ref.lxcpath}`);
    return LxcConfig.parse(text);
  }

  private async editConfig<T>(ref: ContainerRef, edit: (config: LxcConfig) => T): Promise<T> {
    const apply = async () => {
      const config = await this.readConfig(ref);
      const result = edit(config);
      await this.fs.writeFileAtomic(paths.config(ref), config.toString(), 0o640);
      return result;
    };
    if (this.fs.dryRun) return apply();
    const lock = await this.locks.lockContainer(ref.lxcpath, ref.name, { mode: 'exclusive', timeoutMs: this.settings.lockTimeoutMs });
    try {
      return await apply();
    } finally {
      await lock.release();
    }
  }
}
