import { HostFs, type CommandRunner } from '@berth/core';

/**
 * A HostFs that fails its N-th (1-based) mutating call with EIO, for failure injection
 * into the steps berth makes through Node's fs rather than a command (mkdir, the atomic
 * config write, renames, removals). Later calls (the rollback's) go through.
 */
export class FailingHostFs extends HostFs {
  mutating = 0;
  readonly seen: string[] = [];

  constructor(
    runner: CommandRunner,
    private readonly failAt: number,
  ) {
    super(runner);
  }

  private step(what: string): void {
    this.mutating++;
    this.seen.push(what);
    if (this.mutating === this.failAt) {
      throw Object.assign(new Error(`EIO: injected failure, ${what}`), { code: 'EIO', errno: -5 });
    }
  }

  override async mkdir(path: string, mode?: number): Promise<void> {
    this.step(`mkdir ${path}`);
    return super.mkdir(path, mode);
  }

  override async mkdirp(path: string, mode?: number): Promise<void> {
    this.step(`mkdir -p ${path}`);
    return super.mkdirp(path, mode);
  }

  override async writeFileAtomic(path: string, data: string, mode?: number): Promise<void> {
    this.step(`write ${path}`);
    return super.writeFileAtomic(path, data, mode);
  }

  override async rename(from: string, to: string): Promise<void> {
    this.step(`mv ${from} ${to}`);
    return super.rename(from, to);
  }

  override async removeFile(path: string): Promise<void> {
    this.step(`rm -f ${path}`);
    return super.removeFile(path);
  }

  override async removeEmptyDir(path: string): Promise<void> {
    this.step(`rmdir ${path}`);
    return super.removeEmptyDir(path);
  }

  override async removeTree(path: string): Promise<void> {
    this.step(`rm -rf ${path}`);
    return super.removeTree(path);
  }
}
