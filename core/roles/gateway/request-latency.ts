/**
 * Time from a Kafka request's arrival to its response being handed to the socket, per API
 * (Kafka's RequestMetrics TotalTimeMs): for Produce with acks=all that is the wait for the write
 * quorum, for Fetch the long-poll as well. One histogram child per API key, made on first use, so
 * a request pays a clock read and one observe.
 */
import { lookupApi } from '../../kafka/registry.ts';
import { Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from '../../metrics/metrics.ts';

type Child = { observe(seconds: number): void };

export class RequestLatency {
  readonly #histogram: Histogram<'api'>;
  readonly #children: Array<Child | undefined> = [];

  constructor(registry: Registry) {
    this.#histogram = new Histogram({
      name: 'x2_gateway_request_seconds', labelNames: ['api'], registers: [registry],
      help: 'from a Kafka request read to its response written, by API (Produce waits for durability)',
      buckets: LATENCY_BUCKETS_SECONDS,
    });
  }

  observe(apiKey: number, startedMs: number): void {
    let child = this.#children[apiKey];
    if (child === undefined) {
      child = this.#histogram.labels({ api: lookupApi(apiKey)?.api.name ?? String(apiKey) });
      this.#children[apiKey] = child;
    }
    child.observe((performance.now() - startedMs) / 1000);
  }
}
