import { BerthError, filesystemCli, type CommandRunner } from '@berth/core';

/** The filesystem tools every block-filesystem driver runs live in core. */
export const { mkfs, mkfsTools, removeLostAndFound, probeTag, xfsNewUuid, btrfsNewUuid, resize2fs, e2fsck, xfsGrowfs, btrfsResizeMax } = filesystemCli;

/**
 * The commands the LVM driver runs, one function each: lvm2 (`lvs`, `vgs`, `lvcreate`,
 * `lvchange`, `lvrename`, `lvextend`, `lvreduce`, `lvremove`), util-linux (`mount`,
 * `umount`, `blkid`) and each filesystem's own tools. Exit codes: the lvm2 tools exit 5
 * (ECMD_FAILED) when a named VG or LV does not exist or the command failed, 3 on a bad
 * command line; `mount` 32; `blkid -p` 2 when it finds no filesystem. The reason is on
 * stderr. LVs are always named `VG/LV`.
 */

export type LvmFstype = filesystemCli.BlockFstype;

/** The lvm2 exit status for "not found" and other command failures. */
const LVM_FAILED = 5;

/** One row of `lvs`, the fields the driver reads. */
export interface LvInfo {
  readonly vg: string;
  readonly name: string;
  /** `lv_attr`, ten characters: [0] type (`t` thin pool, `V` thin volume, `o` origin, `s` snapshot, `-` plain), [4] state (`a` active). */
  readonly attr: string;
  readonly sizeBytes: number;
  /** The thin pool of a thin volume, '' otherwise. */
  readonly pool: string;
  /** The origin of a snapshot, '' otherwise. */
  readonly origin: string;
  /** Data use in percent (thin volumes and pools, snapshots), undefined where LVM has none. */
  readonly dataPercent: number | undefined;
  /** Metadata use in percent (thin pools), undefined elsewhere. */
  readonly metadataPercent: number | undefined;
}

const LV_FIELDS = ['vg_name', 'lv_name', 'lv_attr', 'lv_size', 'pool_lv', 'origin', 'data_percent', 'metadata_percent'];
const SEPARATOR = '|';

function lvsArgv(...targets: string[]): string[] {
  return ['lvs', '--noheadings', '--nosuffix', '--units', 'b', '--separator', SEPARATOR, '--options', LV_FIELDS.join(','), ...targets];
}

/** `lvs … VG/LV`: one LV, or undefined when it (or its VG) does not exist (exit 5). */
export async function lvInfo(runner: CommandRunner, vg: string, lv: string): Promise<LvInfo | undefined> {
  return (await lvsOf(runner, vg, [lv]))?.get(lv);
}

/**
 * `lvs … VG/A VG/B …`: several LVs of one VG in one call (an lvs costs about the same
 * whether it names one LV or several: most of it is reading the VG). Returns the rows
 * found, by LV name (hidden LVs without their brackets), or undefined when the VG does
 * not exist. LVs that do not exist are absent: lvs prints the others and exits 5 with a
 * `Failed to find logical volume "VG/LV"` line each; any other failure is an error.
 */
export async function lvsOf(runner: CommandRunner, vg: string, names: readonly string[]): Promise<Map<string, LvInfo> | undefined> {
  const targets = [...new Set(names)].map((name) => `${vg}/${name}`);
  if (targets.length === 0) throw new BerthError('Internal', 'lvsOf needs at least one LV name');
  const argv = lvsArgv(...targets);
  const result = await runner.run(argv, { readOnly: true, okExitCodes: [LVM_FAILED] });
  if (result.exitCode === LVM_FAILED) {
    // Warnings and leaked-descriptor notices (lvm2's, about its caller) are no reasons.
    const reasons = result.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^WARNING|^File descriptor \d+ .* leaked/.test(l));
    if (reasons.some((l) => /^volume group .* not found/i.test(l))) return undefined;
    if (reasons.length === 0 || !reasons.every((l) => /^failed to find logical volume|not found|doesn't exist/i.test(l))) {
      throw new BerthError('CommandFailed', `lvs ${targets.join(' ')} failed: ${lastLine(result.stderr)}`, {
        command: { command: argv, exitCode: result.exitCode, stderr: result.stderr, timedOut: false },
      });
    }
  }
  return new Map(parseLvs(result.stdout).map((row) => [row.name.replace(/^\[(.*)\]$/, '$1'), row]));
}

/** `lvs … VG`: every LV of a volume group (hidden ones excepted). */
export async function listLvs(runner: CommandRunner, vg: string): Promise<LvInfo[]> {
  const result = await runner.run(lvsArgv(vg), { readOnly: true });
  return parseLvs(result.stdout);
}

/** Parses `lvs --noheadings --nosuffix --units b --separator '|'` with {@link LV_FIELDS}. */
export function parseLvs(stdout: string): LvInfo[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(SEPARATOR).map((f) => f.trim());
      if (fields.length < LV_FIELDS.length) throw new BerthError('CommandFailed', `cannot read this lvs line: ${JSON.stringify(line)}`);
      const [vg, name, attr, size, pool, origin, data, metadata] = fields as [string, string, string, string, string, string, string, string];
      const sizeBytes = Number(size);
      if (!Number.isFinite(sizeBytes)) throw new BerthError('CommandFailed', `cannot read the size in this lvs line: ${JSON.stringify(line)}`);
      return { vg, name, attr, sizeBytes, pool, origin, dataPercent: percent(data), metadataPercent: percent(metadata) };
    });
}

function percent(text: string): number | undefined {
  if (text === '') return undefined;
  const value = Number(text.replace(',', '.'));
  return Number.isFinite(value) ? value : undefined;
}

/** `vgs --noheadings -o vg_name VG`: whether the volume group exists (exit 5: it does not). */
export async function vgExists(runner: CommandRunner, vg: string): Promise<boolean> {
  const result = await runner.run(['vgs', '--noheadings', '--options', 'vg_name', vg], { readOnly: true, okExitCodes: [LVM_FAILED] });
  return result.exitCode === 0 && result.stdout.trim() === vg;
}

/** `vgs --noheadings -o vg_name`: every volume group. */
export async function vgNames(runner: CommandRunner): Promise<string[]> {
  const result = await runner.run(['vgs', '--noheadings', '--options', 'vg_name'], { readOnly: true });
  return result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** `lvcreate --type thin`: a thin volume of `bytes` (virtual) in VG/POOL. */
export function createThin(runner: CommandRunner, vg: string, pool: string, name: string, bytes: number) {
  return runner.run(['lvcreate', '--yes', '--type', 'thin', '--virtualsize', `${bytes}b`, '--thinpool', pool, '--name', name, vg]);
}

/** `lvcreate --size`: a classic (fully allocated) LV, old signatures wiped. */
export function createClassic(runner: CommandRunner, vg: string, name: string, bytes: number) {
  return runner.run(['lvcreate', '--yes', '--wipesignatures', 'y', '--size', `${bytes}b`, '--name', name, vg]);
}

/**
 * `lvcreate --snapshot --setactivationskip n` of a thin volume: a thin snapshot, made
 * without the activation-skip flag LVM sets by default, so that it is active and can be
 * mounted at once (LXC leaves the flag and the clone unmountable, lxc#968).
 */
export function thinSnapshot(runner: CommandRunner, vg: string, origin: string, name: string) {
  return runner.run(['lvcreate', '--yes', '--snapshot', '--setactivationskip', 'n', '--activate', 'y', '--name', name, `${vg}/${origin}`]);
}

/** `lvcreate --snapshot --size`: a classic copy-on-write snapshot with `bytes` of room for changes. */
export function classicSnapshot(runner: CommandRunner, vg: string, origin: string, name: string, bytes: number) {
  return runner.run(['lvcreate', '--yes', '--snapshot', '--size', `${bytes}b`, '--name', name, `${vg}/${origin}`]);
}

/** `lvchange --activate y --ignoreactivationskip`: activates an LV even when it carries the activation-skip flag. */
export function activate(runner: CommandRunner, vg: string, lv: string) {
  return runner.run(['lvchange', '--activate', 'y', '--ignoreactivationskip', `${vg}/${lv}`]);
}

/** `lvremove --force`: removes an LV, active or not, without asking. */
export function remove(runner: CommandRunner, vg: string, lv: string) {
  return runner.run(['lvremove', '--force', `${vg}/${lv}`]);
}

/** `lvrename VG OLD NEW` */
export function rename(runner: CommandRunner, vg: string, from: string, to: string) {
  return runner.run(['lvrename', vg, from, to]);
}

/** `lvextend --size BYTESb`: grows the LV (not its filesystem). */
export function extend(runner: CommandRunner, vg: string, lv: string, bytes: number) {
  return runner.run(['lvextend', '--size', `${bytes}b`, `${vg}/${lv}`]);
}

/** `lvreduce --force --size BYTESb`: the undo of an extend, only ever while the filesystem still fits. */
export function reduce(runner: CommandRunner, vg: string, lv: string, bytes: number) {
  return runner.run(['lvreduce', '--force', '--size', `${bytes}b`, `${vg}/${lv}`]);
}

/** `mount [-o OPTIONS] DEVICE MOUNTPOINT` (the filesystem type is probed). */
export function mount(runner: CommandRunner, device: string, mountpoint: string, options: readonly string[] = []) {
  return runner.run(['mount', ...(options.length ? ['-o', options.join(',')] : []), device, mountpoint]);
}

/** `dumpe2fs -h DEVICE`: the bytes an ext2/3/4 filesystem spans. */
export async function ext4SizeBytes(runner: CommandRunner, device: string): Promise<number> {
  const result = await runner.run(['dumpe2fs', '-h', device], { readOnly: true });
  const field = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+)$`, 'm').exec(result.stdout)?.[1]);
  const bytes = field('Block count') * field('Block size');
  if (!Number.isFinite(bytes)) throw new BerthError('CommandFailed', `cannot read the size of the filesystem on ${device} from dumpe2fs -h`);
  return bytes;
}

/** `xfs_info TARGET`: the bytes an xfs filesystem spans (data section); xfs_info reads them live from the mount where the device is mounted, else from the superblock. */
export async function xfsSizeBytes(runner: CommandRunner, target: string): Promise<number> {
  const result = await runner.run(['xfs_info', target], { readOnly: true });
  const match = /^data\s+=\s+bsize=(\d+)\s+blocks=(\d+)/m.exec(result.stdout);
  if (!match) throw new BerthError('CommandFailed', `cannot read the size of the filesystem on ${target} from xfs_info`);
  return Number(match[1]) * Number(match[2]);
}

/**
 * `btrfs filesystem show --raw TARGET`: the size btrfs records for the device of a
 * single-device filesystem (live where it is mounted, else from the superblock).
 */
export async function btrfsSizeBytes(runner: CommandRunner, target: string): Promise<number> {
  const result = await runner.run(['btrfs', 'filesystem', 'show', '--raw', target], { readOnly: true });
  const sizes = [...result.stdout.matchAll(/^\s*devid\s+\d+\s+size\s+(\d+)\s/gm)].map((m) => Number(m[1]));
  if (sizes.length !== 1) throw new BerthError('CommandFailed', `cannot read the size of the filesystem on ${target} from btrfs filesystem show (${sizes.length} devices)`);
  return sizes[0]!;
}

function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? '';
}
