/**
 * The river metrics every member role serves (commits and gateways alike), from its RiverMember:
 * what arrived, what was refused, NAKed, retransmitted or repaired, and how frames were taken in
 * place. One place, so that the roles name and explain them the same way.
 */
import { counterFrom, type Registry } from '../metrics/metrics.ts';
import type { RiverMember } from './river-member.ts';

/** `inPlace`: the member takes frames in place (MemberOptions.inPlace), so those counters mean something. */
export function registerMemberMetrics(registry: Registry, member: RiverMember, options: { inPlace: boolean }): void {
  counterFrom(registry, 'x2_river_frames_received_total', 'river frames received (all drivers)',
    () => member.framesReceived);
  counterFrom(registry, 'x2_river_bytes_received_total', 'river bytes received (all drivers)',
    () => member.bytesReceived);
  counterFrom(registry, 'x2_river_frames_refused_total',
    'frames refused (bad CRC, other epoch, inconsistent fragments)', () => member.framesRefused);
  counterFrom(registry, 'x2_river_frames_before_live_total',
    'frames dropped while not live (joining, or after losing the link; repaired later)',
    () => member.framesBeforeLive);
  counterFrom(registry, 'x2_river_naks_sent_total', 'NAKs sent to the sequencer', () => member.naksSent);
  if (options.inPlace) {
    counterFrom(registry, 'x2_river_frames_in_place_total',
      'river frames taken where the receiver scattered them, without a copy', () => member.framesInPlace);
    counterFrom(registry, 'x2_river_scatter_chunks_allocated_total',
      'buffers allocated for scattered river datagram bodies (the rest are reused)',
      () => member.scatterChunksAllocated);
  }
  counterFrom(registry, 'x2_river_retransmits_received_total', 'retransmitted frames received',
    () => member.retransmitsReceived);
  counterFrom(registry, 'x2_river_repaired_entries_total', 'entries repaired from a peer commit',
    () => member.entriesRepaired);
}
