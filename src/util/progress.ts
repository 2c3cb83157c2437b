/**
 * A progress bar on stderr with count, rate and ETA. Silent when `quiet` (the CLI's `--quiet`
 * and `--json` set it), so standard output stays machine-readable. On a non-TTY stderr it
 * prints at most one plain line every few seconds instead of redrawing.
 */
export interface ProgressOptions {
  /** Label in front of the bar. */
  label: string;
  /** Total number of units, when known. */
  total?: number;
  /** Unit name for the rate, e.g. `docs`. Default `items`. */
  unit?: string;
  /** No output at all. Default false. */
  quiet?: boolean;
  /** Where to draw. Default `process.stderr`. */
  stream?: NodeJS.WriteStream;
}

export class Progress {
  private readonly options: Required<Omit<ProgressOptions, 'total'>> & { total?: number };
  private readonly startedAt = performance.now();
  private lastDrawAt = 0;
  private done = 0;

  constructor(options: ProgressOptions) {
    this.options = { unit: 'items', quiet: false, stream: process.stderr, ...options };
  }

  /** Adds `count` finished units (default 1) and redraws at most ~10 times a second. */
  tick(count = 1): void {
    this.done += count;
    if (this.options.quiet) return;
    const now = performance.now();
    const interval = this.options.stream.isTTY ? 100 : 5000;
    if (now - this.lastDrawAt >= interval) {
      this.lastDrawAt = now;
      this.draw(false);
    }
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.options.quiet) this.draw(true);
  }

  private draw(final: boolean): void {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const { total, unit, label, stream } = this.options;
    let text = `${label} ${this.done}`;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, this.done / total);
      const width = 24;
      const filled = Math.round(fraction * width);
      const eta = rate > 0 ? (total - this.done) / rate : Number.NaN;
      text = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${total}` +
        ` ${formatRate(rate)} ${unit}/s` + (final ? ` ${formatSeconds(seconds)}` : ` ETA ${formatSeconds(eta)}`);
    } else {
      text += ` ${unit} ${formatRate(rate)} ${unit}/s ${formatSeconds(seconds)}`;
    }
    if (stream.isTTY) stream.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
    else stream.write(`${text}\n`);
  }
}

function formatRate(rate: number): string {
  return rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toFixed(1);
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Math.round(seconds - minutes * 60).toString().padStart(2, '0')}s`;
}
