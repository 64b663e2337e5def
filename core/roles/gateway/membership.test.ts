/**
 * Gateway membership from `__x2_gateways` records. Method: apply alive and left records and
 * check the live set at given times: expiry after the liveness window, a left record removes a
 * gateway, self is always listed, garbage is refused, the list is sorted by node id.
 */
import { describe, expect, it } from 'vitest';
import { encodeAlive, encodeLeft, GATEWAY_LIVENESS_MS, GatewayMembers, stableHash } from './membership.ts';

const self = { nodeId: 1, host: '127.0.0.1', port: 9093 };

describe('GatewayMembers', () => {
  it('lists live gateways sorted, drops stale and departed ones', () => {
    const members = new GatewayMembers();
    expect(members.apply(encodeAlive({ nodeId: 2, host: 'h2', port: 2 }, 1000))).toBe(true);
    expect(members.apply(encodeAlive({ nodeId: 0, host: 'h0', port: 0 }, 1000))).toBe(true);
    expect(members.live(1500, self).map((node) => node.nodeId)).toEqual([0, 1, 2]);
    expect(members.live(1000 + GATEWAY_LIVENESS_MS + 1, self).map((node) => node.nodeId)).toEqual([1]);
    members.apply(encodeLeft({ nodeId: 2, host: 'h2', port: 2 }, 1200));
    expect(members.live(1500, self).map((node) => node.nodeId)).toEqual([0, 1]);
    expect(members.apply(Buffer.from('garbage'))).toBe(false);
  });

  it('hashes group ids stably', () => {
    expect(stableHash('group-a')).toBe(stableHash('group-a'));
    expect(stableHash('group-a')).not.toBe(stableHash('group-b'));
  });
});
