import { BerthError } from '../errors.js';

/**
 * An LXC config file (`lxc.container.conf(5)`) kept line by line, so that a read and a
 * write give back the same file: comments, blank lines, order, keys berth does not know
 * and `lxc.include` lines all stay where they were. Only lines berth changes are
 * re-rendered, as `key = value`.
 */
type ConfigLine =
  | { readonly kind: 'entry'; readonly key: string; readonly value: string; readonly raw: string | undefined }
  | { readonly kind: 'text'; readonly raw: string };

const KEY_PATTERN = /^[A-Za-z0-9_.-]+$/;

export function assertConfigValue(key: string, value: string): void {
  if (!KEY_PATTERN.test(key)) {
    throw new BerthError('InvalidArgument', `invalid config key ${JSON.stringify(key)}`);
  }
  if (/[\n\r\0]/.test(value)) {
    throw new BerthError('InvalidArgument', `config value for ${key} contains a newline or NUL`);
  }
}

/** LXC drops one pair of matching surrounding quotes from a value. */
function unquote(value: string): string {
  if (value.length >= 2) {
    const first = value[0];
    if ((first === '"' || first === "'") && value[value.length - 1] === first) return value.slice(1, -1);
  }
  return value;
}

export class LxcConfig {
  private lines: ConfigLine[];
  private readonly trailingNewline: boolean;

  private constructor(lines: ConfigLine[], trailingNewline: boolean) {
    this.lines = lines;
    this.trailingNewline = trailingNewline;
  }

  static empty(): LxcConfig {
    return new LxcConfig([], true);
  }

  static parse(text: string): LxcConfig {
    if (text.includes('\0')) throw new BerthError('InvalidArgument', 'config contains a NUL byte');
    const trailingNewline = text === '' || text.endsWith('\n');
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    const lines: ConfigLine[] = body === '' && text === '' ? [] : body.split('\n').map(parseLine);
    return new LxcConfig(lines, trailingNewline);
  }

  /** The last value of `key` (LXC: the last assignment wins), unquoted. */
  get(key: string): string | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const line = this.lines[i]!;
      if (line.kind === 'entry' && line.key === key) return line.value;
    }
    return undefined;
  }

  /** Every value of a multi-valued key (`lxc.mount.entry`, `lxc.include`…), in order. */
  getAll(key: string): string[] {
    return this.entries().filter((e) => e.key === key).map((e) => e.value);
  }

  entries(): { key: string; value: string }[] {
    return this.lines.flatMap((l) => (l.kind === 'entry' ? [{ key: l.key, value: l.value }] : []));
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Sets a single-valued key: the first occurrence is rewritten in place, later ones
   * removed; a key not present yet is appended.
   */
  set(key: string, value: string): this {
    assertConfigValue(key, value);
    const index = this.lines.findIndex((l) => l.kind === 'entry' && l.key === key);
    if (index < 0) {
      this.lines.push({ kind: 'entry', key, value, raw: undefined });
      return this;
    }
    this.lines = this.lines.filter((l, i) => i <= index || !(l.kind === 'entry' && l.key === key));
    this.lines[index] = { kind: 'entry', key, value, raw: undefined };
    return this;
  }

  /** Adds one more value of a multi-valued key, after its last occurrence (or at the end). */
  append(key: string, value: string): this {
    assertConfigValue(key, value);
    let last = -1;
    this.lines.forEach((l, i) => {
      if (l.kind === 'entry' && l.key === key) last = i;
    });
    const line: ConfigLine = { kind: 'entry', key, value, raw: undefined };
    if (last < 0) this.lines.push(line);
    else this.lines.splice(last + 1, 0, line);
    return this;
  }

  delete(key: string): this {
    this.lines = this.lines.filter((l) => !(l.kind === 'entry' && l.key === key));
    return this;
  }

  /** Removes every key that starts with `prefix` (e.g. `lxc.net.1.`). */
  deletePrefix(prefix: string): this {
    this.lines = this.lines.filter((l) => !(l.kind === 'entry' && l.key.startsWith(prefix)));
    return this;
  }

  /** Rewrites values in place (keeps the line's position); `fn` returns the new value. */
  mapValues(fn: (key: string, value: string) => string): this {
    this.lines = this.lines.map((l) => {
      if (l.kind !== 'entry') return l;
      const next = fn(l.key, l.value);
      if (next === l.value) return l;
      assertConfigValue(l.key, next);
      return { kind: 'entry', key: l.key, value: next, raw: undefined };
    });
    return this;
  }

  clone(): LxcConfig {
    return new LxcConfig([...this.lines], this.trailingNewline);
  }

  toString(): string {
    const body = this.lines.map((l) => (l.kind === 'text' ? l.raw : (l.raw ?? `${l.key} = ${l.value}`))).join('\n');
    return this.trailingNewline && this.lines.length > 0 ? `${body}\n` : body;
  }
}

function parseLine(raw: string): ConfigLine {
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { kind: 'text', raw };
  const equals = trimmed.indexOf('=');
  if (equals <= 0) return { kind: 'text', raw };
  const key = trimmed.slice(0, equals).trim();
  if (!KEY_PATTERN.test(key)) return { kind: 'text', raw };
  return { kind: 'entry', key, value: unquote(trimmed.slice(equals + 1).trim()), raw };
}
