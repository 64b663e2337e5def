/**
 * Goal: each answered request lands in x2_gateway_request_seconds under its API's name, with the
 * time since it was read. Method: a registry of its own, observations with known start times,
 * the Prometheus text read back.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from '../../metrics/metrics.ts';
import { RequestLatency } from './request-latency.ts';

function sample(text: string, line: RegExp): number {
  const match = line.exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

describe('RequestLatency', () => {
  it('counts each request under its API name and buckets the time since it was read', async () => {
    const registry = new Registry();
    const latency = new RequestLatency(registry);
    const now = performance.now();
    latency.observe(0, now - 3); // Produce, 3 ms ago
    latency.observe(0, now - 30);
    latency.observe(1, now); // Fetch, just now
    latency.observe(999, now); // not an API x2 knows: named by its key
    const text = await registry.metrics();
    expect(sample(text, /^x2_gateway_request_seconds_count\{api="Produce"\} (\d+)/m)).toBe(2);
    expect(sample(text, /^x2_gateway_request_seconds_count\{api="Fetch"\} (\d+)/m)).toBe(1);
    expect(sample(text, /^x2_gateway_request_seconds_count\{api="999"\} (\d+)/m)).toBe(1);
    // 3 ms and 30 ms: one at or under 5 ms, both under 50 ms, neither under 2 ms.
    expect(sample(text, /^x2_gateway_request_seconds_bucket\{le="0.002",api="Produce"\} (\d+)/m)).toBe(0);
    expect(sample(text, /^x2_gateway_request_seconds_bucket\{le="0.005",api="Produce"\} (\d+)/m)).toBe(1);
    expect(sample(text, /^x2_gateway_request_seconds_bucket\{le="0.05",api="Produce"\} (\d+)/m)).toBe(2);
    const sumSeconds = sample(text, /^x2_gateway_request_seconds_sum\{api="Produce"\} ([\d.e-]+)/m);
    expect(sumSeconds).toBeGreaterThanOrEqual(0.033);
    expect(sumSeconds).toBeLessThan(1);
  });
});
