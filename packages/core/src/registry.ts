import { inject, injectable, injectAll } from 'tsyringe';
import { BerthError } from './errors.js';
import { NETWORK_DRIVER, type NetworkDriver } from './contracts/network.js';
import { STORAGE_DRIVER, type Availability, type StorageDriver } from './contracts/storage.js';
import { LOADED_MODULES, type LoadedModules } from './plugins.js';

/** The drivers a composition root registered, looked up by type, each probed once. */
@injectable()
export class DriverRegistry {
  private readonly availability = new Map<string, Promise<Availability>>();

  constructor(
    @injectAll(STORAGE_DRIVER, { isOptional: true }) private readonly storage: StorageDriver[],
    @injectAll(NETWORK_DRIVER, { isOptional: true }) private readonly network: NetworkDriver[],
    @inject(LOADED_MODULES) readonly modules: LoadedModules,
  ) {
    const seen = new Set<string>();
    for (const driver of this.storage) {
      for (const name of [driver.type, ...driver.aliases]) {
        if (seen.has(name)) throw new BerthError('InvalidArgument', `two storage drivers claim the type ${name}`);
        seen.add(name);
      }
    }
  }

  storageDrivers(): readonly StorageDriver[] {
    return this.storage;
  }

  networkDrivers(): readonly NetworkDriver[] {
    return this.network;
  }

  findStorage(type: string): StorageDriver | undefined {
    return this.storage.find((d) => d.type === type || d.aliases.includes(type));
  }

  /** The driver for a type, or a NotSupported error naming the types there are. */
  storageDriver(type: string): StorageDriver {
    const driver = this.findStorage(type);
    if (!driver) {
      const known = this.storage.map((d) => d.type).join(', ') || 'none';
      throw new BerthError('NotSupported', `no storage driver for backend "${type}" (available: ${known})`);
    }
    return driver;
  }

  networkDriver(type: string): NetworkDriver {
    const driver = this.network.find((d) => d.type === type);
    if (!driver) throw new BerthError('NotSupported', `no network driver for type "${type}"`);
    return driver;
  }

  probe(driver: { type: string; probe(): Promise<Availability> }): Promise<Availability> {
    let result = this.availability.get(driver.type);
    if (!result) {
      result = driver.probe().catch((error: unknown) => ({ available: false as const, reason: String(error) }));
      this.availability.set(driver.type, result);
    }
    return result;
  }

  /** The driver, after checking its probe: Unavailable with the reason otherwise. */
  async usableStorage(type: string): Promise<StorageDriver> {
    const driver = this.storageDriver(type);
    const availability = await this.probe(driver);
    if (!availability.available) throw new BerthError('Unavailable', `backend ${driver.type} is unavailable: ${availability.reason}`);
    return driver;
  }
}
