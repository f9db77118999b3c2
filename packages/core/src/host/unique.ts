let counter = 0;

/**
 * A name part no other call, in this process or any other running now, returns: the
 * process id, a counter and the time. For journal entries and temporary files, which
 * are created with O_EXCL anyway; it needs no randomness (and so no node:crypto, whose
 * loading is a few ms of every start-up).
 */
export function uniqueSuffix(): string {
  counter = (counter + 1) % 0x100000;
  return `${Date.now().toString(36)}-${process.pid.toString(36)}-${counter.toString(36)}`;
}
