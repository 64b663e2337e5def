/**
 * Metrics shared by every role: a prom-client registry per process and an HTTP server that
 * answers GET /metrics with Prometheus text. Role-neutral: a role registers its own counters,
 * gauges and histograms on the registry it gets here. Values are kept as plain numbers on hot
 * paths and copied into gauges by `collect` callbacks at scrape time, so the data path pays
 * nothing per record. GET /status answers JSON from a callback a role registers with
 * `serveStatus` (core/metrics/publisher.ts registers the node's latest snapshot).
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

export function createRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  // Process metrics every Node service has: CPU, memory, event-loop lag (a stalled loop delays
  // every append and ack behind it), GC pauses by kind. Sampled by prom-client, not per record.
  collectDefaultMetrics({ register: registry,
    gcDurationBuckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1] });
  return registry;
}

/** Buckets of the latency histograms (seconds): from a fast device flush to a long-polled Fetch. */
export const LATENCY_BUCKETS_SECONDS = [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/** A gauge whose value is read from `read` at scrape time. */
export function gaugeFrom(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
}

/** A counter-like gauge for a monotonically growing plain number (reported as a counter). */
export function counterFrom(registry: Registry, name: string, help: string, read: () => number): Counter {
  let reported = 0;
  return new Counter({
    name, help, registers: [registry],
    collect() {
      // prom-client counters only go up: add what grew since the last scrape.
      const value = read();
      if (value > reported) {
        this.inc(value - reported);
        reported = value;
      }
    },
  });
}

const statusSources = new WeakMap<Registry, () => unknown>();

/** Makes GET /status on the metrics server of `registry` answer `read()` as JSON. */
export function serveStatus(registry: Registry, read: () => unknown): void {
  statusSources.set(registry, read);
}

/** Serves GET /metrics (and /status once registered) on `port` (0 = any free port); resolves with the port. */
export async function serveMetrics(registry: Registry, port: number,
  host = '0.0.0.0'): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const status = statusSources.get(registry);
    if (request.method === 'GET' && (request.url ?? '').split('?')[0] === '/status' && status !== undefined) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(status())}\n`);
      return;
    }
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}
