/** Whether the native addon loaded; when false every call throws `unavailableReason`. */
export declare const available: boolean;
export declare const unavailableReason: string | undefined;

/**
 * Tries a whole-file fcntl lock on `fd` (F_SETLK: never waits): a write lock when
 * `exclusive`, else a read lock. True when taken; false when another process holds a
 * conflicting lock. Any other failure throws a Node-style system error (`code`, `errno`).
 */
export declare function tryLock(fd: number, exclusive: boolean): boolean;
/** Drops this process's lock on `fd`'s file. */
export declare function unlock(fd: number): void;
