/**
 * The sidecar's metrics: plain numbers updated on the data path, exported on /metrics at scrape
 * time. One object per process, shared by the successive sidecar instances of one run (an
 * instance restarts after a lost sequencer link), so counters never go back.
 */
import { counterFrom, gaugeFrom, Histogram, type Registry } from '../../metrics/metrics.ts';

export class SidecarMetrics {
  recordsIn = 0;
  recordsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  errors = 0;
  deadLettered = 0;
  appends = 0;
  restarts = 0;
  fencedAppends = 0;
  claims = 0;
  members = 0;
  ownedStreams = 0;
  lagRecords = 0;
  appliedSeq = 0;
  readonly latency: Histogram | null;

  constructor(registry: Registry | null) {
    if (!registry) {
      this.latency = null;
      return;
    }
    counterFrom(registry, 'x2_sidecar_records_in_total', 'input records processed', () => this.recordsIn);
    counterFrom(registry, 'x2_sidecar_records_out_total', 'output records appended (committed)', () => this.recordsOut);
    counterFrom(registry, 'x2_sidecar_bytes_in_total', 'input key+value bytes processed', () => this.bytesIn);
    counterFrom(registry, 'x2_sidecar_bytes_out_total', 'output batch bytes appended (committed)', () => this.bytesOut);
    counterFrom(registry, 'x2_sidecar_errors_total', 'input records whose user logic failed', () => this.errors);
    counterFrom(registry, 'x2_sidecar_dead_letters_total', 'records written to the dead-letter topic',
      () => this.deadLettered);
    counterFrom(registry, 'x2_sidecar_appends_total', 'atomic appends (outputs + checkpoint) committed',
      () => this.appends);
    counterFrom(registry, 'x2_sidecar_restarts_total', 'instance restarts after a lost link', () => this.restarts);
    counterFrom(registry, 'x2_sidecar_fenced_appends_total',
      'appends refused by the sequencer because another member claimed an input stream since',
      () => this.fencedAppends);
    counterFrom(registry, 'x2_sidecar_claims_total', 'input streams this member claimed (handovers in)',
      () => this.claims);
    gaugeFrom(registry, 'x2_sidecar_members', 'members of this sidecar\'s group (--name)', () => this.members);
    gaugeFrom(registry, 'x2_sidecar_owned_streams', 'input streams (partitions) this member processes',
      () => this.ownedStreams);
    gaugeFrom(registry, 'x2_sidecar_lag_records', 'committed input records not yet processed', () => this.lagRecords);
    gaugeFrom(registry, 'x2_sidecar_applied_seq', 'highest river seq applied', () => this.appliedSeq);
    this.latency = new Histogram({
      name: 'x2_sidecar_latency_seconds', registers: [registry],
      help: 'from an input entry being committed to the append holding its outputs being committed',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    });
  }
}
