import { EventEmitter } from 'eventemitter3';

/** What an operation works on: one container in one lxcpath. */
export interface OperationSubject {
  readonly lxcpath: string;
  readonly name: string;
}

export type OperationKind =
  | 'create'
  | 'copy'
  | 'snapshot'
  | 'restore'
  | 'snapshot-delete'
  | 'destroy'
  | 'rename'
  | 'recover'
  | 'quota';

export interface OperationStarted {
  readonly id: string;
  readonly kind: OperationKind;
  readonly subject: OperationSubject;
}

/** Progress of a long step. `total` is unknown (undefined) until it has been measured. */
export interface OperationProgressed {
  readonly id: string;
  readonly kind: OperationKind;
  readonly subject: OperationSubject;
  readonly step: string;
  readonly done: number;
  readonly total: number | undefined;
  readonly unit: 'files' | 'bytes';
}

export interface OperationFinished {
  readonly id: string;
  readonly kind: OperationKind;
  readonly subject: OperationSubject;
  readonly elapsedMs: number;
}

export interface OperationFailed {
  readonly id: string;
  readonly kind: OperationKind;
  readonly subject: OperationSubject;
  readonly error: Error;
  /** True when everything the operation had done was undone. */
  readonly reverted: boolean;
}

export interface CommandStarted {
  readonly argv: readonly string[];
  readonly dryRun: boolean;
}

export interface BerthEvents {
  'operation:started': (event: OperationStarted) => void;
  'operation:progressed': (event: OperationProgressed) => void;
  'operation:finished': (event: OperationFinished) => void;
  'operation:failed': (event: OperationFailed) => void;
  'command:started': (event: CommandStarted) => void;
  /** Something worth a user's attention that did not stop the operation. */
  warning: (message: string) => void;
}

export class BerthEventEmitter extends EventEmitter<BerthEvents> {}

export const EVENTS = Symbol.for('berth.Events');
