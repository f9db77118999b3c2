import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';

/**
 * Real LXC beside berth on one lxcpath, for interop tests: run the lxc-* tools and a
 * berth binary, boot containers, and remove everything afterwards (stopping what runs
 * and never deleting through a mount).
 */
export interface Result {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function run(argv: readonly string[], timeoutMs = 60_000): Promise<Result> {
  const [file, ...args] = argv;
  const result = await execa(file!, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Runs a command that must succeed; the failure message carries its output. */
export async function ok(argv: readonly string[], timeoutMs?: number): Promise<Result> {
  const result = await run(argv, timeoutMs);
  expect(result.exitCode, `${argv.join(' ')} exited ${result.exitCode}\n${result.stdout}\n${result.stderr}`).to.equal(0);
  return result;
}

/** Runs a command that must fail (non-zero, not a crash of the runner). */
export async function refused(argv: readonly string[]): Promise<Result> {
  const result = await run(argv);
  expect(result.exitCode, `${argv.join(' ')} should have been refused\n${result.stdout}\n${result.stderr}`).to.be.greaterThan(0);
  return result;
}

/** An lxcpath of its own under /tmp, with LXC and berth both pointed at it. */
export class Lxcpath {
  constructor(
    readonly root: string,
    readonly path: string,
    /** `lxc-create -f`: no network device (the host default links lxcbr0, absent here). */
    readonly createConfig: string,
    /** The berth binary (`packages/cli/dist/berth.cjs`), run with node. */
    readonly berthBin: string,
  ) {}

  /** A fresh lxcpath under `parent` (default /tmp; a btrfs mount for btrfs interop). */
  static async make(berthBin: string, parent = '/tmp'): Promise<Lxcpath> {
    const root = await mkdtemp(join(parent, 'berth-interop-'));
    const createConfig = join(root, 'create.conf');
    await writeFile(
      createConfig,
      [
        'lxc.net.0.type = empty',
        // This kernel has no AppArmor, so LXC would run unconfined anyway; on a host
        // that has it, the default profile needs apparmor_parser (not installed).
        'lxc.apparmor.profile = unconfined',
        '',
      ].join('\n'),
    );
    return new Lxcpath(root, join(root, 'lxc'), createConfig, berthBin);
  }

  /** The argv of a `berth` command on this lxcpath: the binary itself, as a user runs it. */
  berth(...args: string[]): string[] {
    return [this.berthBin, '-P', this.path, ...args];
  }

  lxc(tool: string, name: string, ...args: string[]): string[] {
    return [`lxc-${tool}`, '-P', this.path, '-n', name, ...args];
  }

  exists(name: string): boolean {
    return existsSync(join(this.path, name, 'config'));
  }

  async config(name: string): Promise<string> {
    return readFile(join(this.path, name, 'config'), 'utf8');
  }

  /** Boots a container and waits until LXC says it runs; a failure shows LXC's log. */
  async start(name: string): Promise<void> {
    const log = join(this.root, `${name}.start.log`);
    const started = await run(this.lxc('start', name, '-l', 'DEBUG', '-o', log));
    const running = started.exitCode === 0 ? await run(this.lxc('wait', name, '-s', 'RUNNING', '-t', '20')) : started;
    if (running.exitCode !== 0) {
      const text = existsSync(log) ? await readFile(log, 'utf8') : '';
      const errors = text.split('\n').filter((line) => / ERROR | WARN /.test(line)).slice(-15).join('\n');
      expect.fail(`lxc-start ${name} did not reach RUNNING (exit ${running.exitCode})\n${started.stderr}\n${errors}`);
    }
  }

  async stopAll(): Promise<void> {
    const listed = await run(['lxc-ls', '-P', this.path, '--running', '-1']);
    for (const name of listed.stdout.split(/\s+/).filter(Boolean)) {
      await run(this.lxc('stop', name, '-k'));
    }
  }

  /** Stops what runs, unmounts anything left under the root, and removes it all. */
  async remove(): Promise<void> {
    await this.stopAll();
    const mounts = (await readFile('/proc/mounts', 'utf8'))
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((mountpoint) => mountpoint.startsWith(`${this.root}/`))
      .sort((a, b) => b.length - a.length);
    for (const mountpoint of mounts) await run(['umount', '-l', mountpoint]);
    // --one-file-system: never delete through a mount that could not be removed.
    await run(['rm', '-rf', '--one-file-system', this.root, join('/run/lxc/lock', this.root)]);
  }
}

/** The berth CLI of a checkout, as `pnpm run build` leaves it. */
export function berthBinary(repoRoot: string): string {
  return join(repoRoot, 'packages/cli/dist/berth.cjs');
}

/** Builds the checkout's berth CLI (tsc, then the bundle) unless it is there already. */
export async function ensureBerthBinary(repoRoot: string): Promise<string> {
  const binary = berthBinary(repoRoot);
  if (!existsSync(binary)) {
    await ok([join(repoRoot, 'node_modules/.bin/tsc'), '-b', join(repoRoot, 'tsconfig.build.json')], 300_000);
    await ok(['node', join(repoRoot, 'packages/cli/scripts/bundle.mjs')], 300_000);
  }
  return binary;
}
