import type cliProgress from 'cli-progress';
import type { BerthEventEmitter, OperationProgressed } from '@berth/core';

/**
 * Progress bars drawn from the facade's `operation:progressed` events: one bar per
 * running operation (a multi-target copy shows one per target), removed when the
 * operation ends. Only used on a terminal.
 *
 * cli-progress (and the readline it loads) is imported when the display is attached, not
 * at start-up: most runs draw no bar. Events before it has loaded draw nothing; the next
 * one draws the bar.
 */
export class ProgressDisplay {
  private library: typeof cliProgress | undefined;
  private multibar: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, cliProgress.SingleBar>();

  constructor(private readonly stream: NodeJS.WritableStream) {}

  attach(events: BerthEventEmitter): void {
    import('cli-progress').then(
      (loaded) => {
        this.library = loaded.default;
      },
      () => undefined, // no bars, then: the operation itself goes on
    );
    events.on('operation:progressed', (event) => this.update(event));
    events.on('operation:finished', (event) => this.remove(event.id));
    events.on('operation:failed', (event) => this.remove(event.id));
  }

  private update(event: OperationProgressed): void {
    const cliProgress = this.library;
    if (event.total === undefined || !cliProgress) return; // nothing to draw a bar against yet
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
