/**
 * Prometheus metrics in the text exposition format (version 0.0.4): counters, gauges and
 * histograms with labels, rendered by `GET /metrics`. Small on purpose: the server needs a
 * handful of series, not a client library.
 */

/** Label names to values, e.g. `{ route: '/v1/embeddings', status: '200' }`. */
export type Labels = Readonly<Record<string, string>>;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  lines(): string[];
}

function labelText(labels: Labels, extra?: Labels): string {
  const all = { ...labels, ...extra };
  const keys = Object.keys(all);
  if (keys.length === 0) return '';
  // Label values escape backslash, double quote and newline (the exposition format's rules).
  return `{${keys.map((key) => `${key}="${all[key].replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((key) => [key, labels[key]]));
}

function numberText(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

/** A monotonically increasing count per label set. */
export class Counter implements Metric {
  readonly type = 'counter' as const;
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(readonly name: string, readonly help: string) {}

  /** Adds `amount` (default 1) to the series of `labels`. */
  inc(labels: Labels = {}, amount = 1): void {
    const key = keyOf(labels);
    const entry = this.values.get(key);
    if (entry === undefined) this.values.set(key, { labels, value: amount });
    else entry.value += amount;
  }

  /** The current value of one series (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }

  lines(): string[] {
    return [...this.values.values()].map((entry) => `${this.name}${labelText(entry.labels)} ${numberText(entry.value)}`);
  }
}

/** A value read when scraped (queue depths, memory). */
export class Gauge implements Metric {
  readonly type = 'gauge' as const;

  /** @param collect returns the series to report, each with its labels. */
  constructor(readonly name: string, readonly help: string, private readonly collect: () => readonly { labels?: Labels; value: number }[]) {}

  lines(): string[] {
    return this.collect().map((entry) => `${this.name}${labelText(entry.labels ?? {})} ${numberText(entry.value)}`);
  }
}

/** Observations bucketed by upper bounds (cumulative, as Prometheus expects), with their sum and count. */
export class Histogram implements Metric {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, buckets: readonly number[]) {
    this.buckets = [...buckets].sort((left, right) => left - right);
  }

  /** Records one observation in the series of `labels`. */
  observe(value: number, labels: Labels = {}): void {
    const key = keyOf(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    for (let index = 0; index < this.buckets.length; index++) if (value <= this.buckets[index]) entry.counts[index] += 1;
    entry.sum += value;
    entry.count += 1;
  }

  /** Count and sum of one series. */
  get(labels: Labels = {}): { count: number; sum: number } {
    const entry = this.series.get(keyOf(labels));
    return { count: entry?.count ?? 0, sum: entry?.sum ?? 0 };
  }

  lines(): string[] {
    const lines: string[] = [];
    for (const entry of this.series.values()) {
      this.buckets.forEach((bound, index) => lines.push(`${this.name}_bucket${labelText(entry.labels, { le: numberText(bound) })} ${entry.counts[index]}`));
      lines.push(`${this.name}_bucket${labelText(entry.labels, { le: '+Inf' })} ${entry.count}`);
      lines.push(`${this.name}_sum${labelText(entry.labels)} ${numberText(entry.sum)}`);
      lines.push(`${this.name}_count${labelText(entry.labels)} ${entry.count}`);
    }
    return lines;
  }
}

/**
 * The metrics of one server, rendered together.
 *
 * @example
 * const metrics = new MetricsRegistry();
 * const requests = metrics.add(new Counter('o1e_http_requests_total', 'HTTP requests by route and status'));
 * requests.inc({ route: '/v1/embeddings', status: '200' });
 * metrics.render(); // '# HELP o1e_http_requests_total ...\n# TYPE ... counter\no1e_http_requests_total{route="/v1/embeddings",status="200"} 1\n'
 */
export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  /** Registers a metric and returns it. */
  add<Kind extends Metric>(metric: Kind): Kind {
    this.metrics.push(metric);
    return metric;
  }

  /** The Prometheus text format of every metric (content type {@link PROMETHEUS_CONTENT_TYPE}). */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics) {
      lines.push(`# HELP ${metric.name} ${metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      lines.push(`# TYPE ${metric.name} ${metric.type}`);
      lines.push(...metric.lines());
    }
    return `${lines.join('\n')}\n`;
  }
}

/** The content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Latency buckets in seconds: 1 ms to 2 min. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Batch-size buckets: 1, 2, 4, ... 1024. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
