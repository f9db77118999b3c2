import cliProgress from 'cli-progress';
import type { BerthEventEmitter, OperationProgressed } from '@berth/core';

/**
 * Progress bars drawn from the facade's `operation:progressed` events: one bar per
 * running operation (a multi-target copy shows one per target), removed when the
 * operation ends. Only used on a terminal.
 */
export class ProgressDisplay {
  private multibar: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, cliProgress.SingleBar>();

  constructor(private readonly stream: NodeJS.WritableStream) {}

  attach(events: BerthEventEmitter): void {
    events.on('operation:progressed', (event) => this.update(event));
    events.on('operation:finished', (event) => this.remove(event.id));
    events.on('operation:failed', (event) => this.remove(event.id));
  }

  private update(event: OperationProgressed): void {
    if (event.total === undefined) return; // nothing to draw a bar against yet
    const payload = { name: event.subject.name, step: event.step, unit: event.unit };
    this.multibar ??= new cliProgress.MultiBar(
      {
        stream: this.stream,
        format: '{name} {step} [{bar}] {percentage}% {value}/{total} {unit}',
        barsize: 30,
        hideCursor: true,
        clearOnComplete: true,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const bar = this.bars.get(event.id);
    if (bar) {
      bar.setTotal(event.total);
      bar.update(event.done, payload);
    } else {
      this.bars.set(event.id, this.multibar.create(event.total, event.done, payload));
    }
  }

  private remove(id: string): void {
    const bar = this.bars.get(id);
    if (!bar) return;
    this.bars.delete(id);
    this.multibar?.remove(bar);
  }

  stop(): void {
    this.multibar?.stop();
    this.multibar = undefined;
    this.bars.clear();
  }
}
