import type { Command } from 'commander';
import type { Session } from '../session.js';

/** What each command module gets from the program: its session, made from the global options. */
export interface CommandContext {
  session(command: Command): Session;
}
