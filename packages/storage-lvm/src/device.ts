import { open, readFile, realpath, stat } from 'node:fs/promises';

/**
 * What the LVM driver reads of an LV's block device without running a command: whether
 * its device-mapper device is live (sysfs), and whether it carries the superblock magic
 * of a filesystem whose clones need a new UUID. Each saves an `lvs` or a `blkid` (about
 * 330 and 110 ms in the emulated test VM) where the answer is certain, and says "ask the
 * tools" where it is not.
 */

/** The device-mapper name LVM gives `VG/LV`: `VG-LV`, with every `-` inside either name doubled. */
export function dmName(vg: string, lv: string): string {
  return `${vg.replace(/-/g, '--')}-${lv.replace(/-/g, '--')}`;
}

/**
 * Whether `device` (`/dev/VG/LV`) is, right now, the live device-mapper device of that
 * LV: the node resolves to a block device whose sysfs `dm/name` is the LV's dm name,
 * `dm/uuid` an LVM LV's (`LVM-` and the VG and LV UUIDs, no sub-LV suffix such as
 * `-pool`), and `dm/suspended` 0. LVM makes `/dev/VG/LV` for active LVs only, but a
 * stale node could survive a crash and point at a device number reused since: the name
 * check catches that. False (ask lvs) whenever anything is missing or differs.
 */
export async function isLiveLv(device: string, vg: string, lv: string): Promise<boolean> {
  try {
    const dm = `${await sysfsDir(device)}/dm`;
    const [name, uuid, suspended] = await Promise.all(['name', 'uuid', 'suspended'].map((field) => readFile(`${dm}/${field}`, 'utf8')));
    return name!.trim() === dmName(vg, lv) && /^LVM-[A-Za-z0-9]+$/.test(uuid!.trim()) && suspended!.trim() === '0';
  } catch {
    return false;
  }
}

/** `/sys/dev/block/MAJOR:MINOR` of the block device `path` resolves to (throws when it is none). */
async function sysfsDir(path: string): Promise<string> {
  const info = await stat(await realpath(path), { bigint: true });
  if (!info.isBlockDevice()) throw new Error(`${path} is not a block device`);
  // The kernel's dev_t encoding (as glibc's major()/minor()).
  const major = ((info.rdev >> 8n) & 0xfffn) | ((info.rdev >> 32n) & ~0xfffn);
  const minor = (info.rdev & 0xffn) | ((info.rdev >> 12n) & ~0xffn);
  return `/sys/dev/block/${major}:${minor}`;
}

/** Where blkid finds each magic that makes a clone need a new filesystem UUID (libblkid's xfs and btrfs probes). */
const UUID_MAGICS = [
  { fstype: 'xfs', offset: 0, magic: Buffer.from('XFSB') },
  // The primary btrfs superblock is at 64 KiB, its magic 0x40 into it.
  { fstype: 'btrfs', offset: 64 * 1024 + 0x40, magic: Buffer.from('_BHRfS_M') },
] as const;

/**
 * Whether the filesystem on `device` may be one whose clones need a new UUID (xfs,
 * btrfs): true when the xfs magic is at offset 0 or the btrfs magic at 64 KiB + 0x40,
 * when the device cannot be read there, or when it is (or may be) a zoned device (where
 * btrfs keeps its superblocks at zone starts instead). blkid names xfs or btrfs only
 * with those magics in place, so false means blkid would name neither and need not run;
 * true means it must be asked.
 */
export async function mayNeedNewUuid(device: string): Promise<boolean> {
  try {
    const zoned = await readFile(`${await sysfsDir(device)}/queue/zoned`, 'utf8').catch(() => 'none');
    if (zoned.trim() !== 'none') return true;
    return await hasUuidMagic(device);
  } catch {
    return true;
  }
}

/** Whether the file or device `path` has the xfs or the btrfs magic where blkid looks, or is too short to tell (true). */
export async function hasUuidMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    for (const { offset, magic } of UUID_MAGICS) {
      const buffer = Buffer.alloc(magic.length);
      const { bytesRead } = await handle.read(buffer, 0, magic.length, offset);
      if (bytesRead !== magic.length || buffer.equals(magic)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}
