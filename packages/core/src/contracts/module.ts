import type { DependencyContainer } from 'tsyringe';
import * as z from 'zod';
import { BerthError } from '../errors.js';

/**
 * What a driver package exports: a descriptor the composition root calls to register the
 * driver in a child DI container. Registration never happens on import.
 */
export interface BerthModule {
  readonly kind: 'storage' | 'network';
  /** The driver type it registers (`dir`, `btrfs`, `veth`…). */
  readonly name: string;
  /** The package's version, shown by `berth drivers`. */
  readonly version?: string;
  register(container: DependencyContainer): void;
}

const moduleShape = z.object({
  kind: z.enum(['storage', 'network']),
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a lower-case type name'),
  version: z.string().optional(),
  register: z.custom<BerthModule['register']>((v) => typeof v === 'function', 'a function'),
});

/** Checks an untrusted value (a plugin's export) is a BerthModule. */
export function validateModule(value: unknown, origin: string): BerthModule {
  const result = moduleShape.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'descriptor';
    throw new BerthError('InvalidArgument', `${origin}: bad module descriptor: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return value as BerthModule;
}
