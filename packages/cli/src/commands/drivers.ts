import type { Command } from 'commander';
import * as z from 'zod';
import type { Availability, StorageCapabilities, StorageDriver } from '@berth/core';
import { renderTable } from '../output.js';
import type { CommandContext } from './context.js';

interface OptionJson {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
  readonly description: string;
}

interface StorageDriverJson {
  readonly type: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly available: boolean;
  readonly reason: string | null;
  readonly capabilities: StorageCapabilities;
  readonly options: readonly OptionJson[];
}

export function registerDrivers(program: Command, context: CommandContext): void {
  program
    .command('drivers')
    .summary('list storage drivers, their options and plugin failures')
    .description('list the storage and network drivers: availability, capabilities, options; and plugins that failed to load')
    .action(async (_flags: unknown, command: Command) => {
      const session = context.session(command);
      const berth = await session.berth();
      const registry = berth.drivers;
      const storage: StorageDriverJson[] = [];
      for (const driver of registry.storageDrivers()) storage.push(storageDriverJson(driver, await registry.probe(driver)));
      const network = registry.networkDrivers().map((driver) => ({ type: driver.type }));
      const failures = registry.modules.failures.map((f) => ({ specifier: f.specifier, reason: f.reason }));
      session.output.result({ storage, network, pluginFailures: failures }, () => driverLines(storage, network, failures));
    });
}

function storageDriverJson(driver: StorageDriver, availability: Availability): StorageDriverJson {
  return {
    type: driver.type,
    aliases: [...driver.aliases],
    description: driver.description,
    available: availability.available,
    reason: availability.available ? null : availability.reason,
    capabilities: { ...driver.capabilities, snapshotSources: [...driver.capabilities.snapshotSources] },
    options: describeOptions(driver.optionsSchema),
  };
}

/** A driver's options, read off its strict zod object: one entry per key, with its `.describe()` text. */
export function describeOptions(schema: z.ZodObject): OptionJson[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const schemaField = field as z.ZodType;
    return {
      name,
      type: jsonTypeOf(schemaField),
      required: !schemaField.safeParse(undefined).success,
      description: schemaField.description ?? '',
    };
  });
}

function jsonTypeOf(field: z.ZodType): string {
  try {
    const json = z.toJSONSchema(field, { unrepresentable: 'any' }) as { type?: unknown; enum?: unknown[]; anyOf?: { type?: unknown }[] };
    if (Array.isArray(json.enum)) return json.enum.map(String).join('|');
    if (typeof json.type === 'string') return json.type;
    if (Array.isArray(json.anyOf)) return json.anyOf.map((branch) => String(branch.type ?? 'any')).join('|');
  } catch {
    // a plugin built against another zod: the type is only cosmetic
  }
  return 'any';
}

function capabilityList(capabilities: StorageCapabilities): string {
  const names: string[] = [];
  if (capabilities.snapshot) names.push(`snapshot(${capabilities.snapshotSources.join(',')})`);
  for (const key of ['nativeCopy', 'directAccess', 'sized', 'quota', 'usage', 'rename'] as const) {
    if (capabilities[key]) names.push(key);
  }
  return names.join(' ') || '-';
}

function driverLines(
  storage: readonly StorageDriverJson[],
  network: readonly { type: string }[],
  failures: readonly { specifier: string; reason: string }[],
): string[] {
  const lines = renderTable(
    ['STORAGE', 'STATUS', 'CAPABILITIES'],
    storage.map((d) => [[d.type, ...d.aliases].join('/'), d.available ? 'available' : `unavailable: ${d.reason}`, capabilityList(d.capabilities)]),
  );
  for (const driver of storage) {
    lines.push('', `${driver.type}: ${driver.description}`);
    if (driver.options.length === 0) lines.push('  no options');
    for (const option of driver.options) {
      lines.push(`  ${option.name}=<${option.type}>${option.required ? ' (required)' : ''}  ${option.description}`);
    }
  }
  lines.push('', `network: ${network.length > 0 ? network.map((d) => d.type).join(', ') : 'no drivers'}`);
  if (failures.length > 0) {
    lines.push('', 'plugins that failed to load:');
    for (const failure of failures) lines.push(`  ${failure.specifier}: ${failure.reason}`);
  }
  return lines;
}
