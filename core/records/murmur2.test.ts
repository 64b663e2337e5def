/**
 * Goal: x2's murmur2 partitioner equals Kafka's (Java `Utils.murmur2` + `toPositive`).
 * Method: fixed vectors computed by kafkajs's own murmur2 (a port of the Java code with Long
 * arithmetic), then seeded random keys of every tail length compared against it.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { murmur2, partitionForKey, toPositive } from './murmur2.ts';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

describe('murmur2', () => {
  it('matches fixed vectors of Kafka\'s partitioner', () => {
    for (const key of ['', 'a', 'ab', 'abc', 'AAPL', 'MSFT', 'order-42']) {
      expect(murmur2(Buffer.from(key))).toBe(kafkajsMurmur2(Buffer.from(key)));
    }
    // Published vectors from Kafka's UtilsTest.testMurmur2.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([0x62, 0x63, 0x64]))).toBe(kafkajsMurmur2(Buffer.from('bcd')));
  });

  it('matches kafkajs on random keys of every length 0..64', () => {
    const seed = testSeed('murmur2 random keys');
    const random = prng(seed);
    for (let round = 0; round < 2000; round++) {
      const key = Buffer.alloc(round % 65);
      for (let i = 0; i < key.length; i++) key[i] = Math.floor(random() * 256);
      const expected = kafkajsMurmur2(key);
      expect(murmur2(key), `seed ${seed} key ${key.toString('hex')}`).toBe(expected);
      expect(partitionForKey(key, 7)).toBe(toPositive(expected) % 7);
    }
  });

  it('toPositive clears the sign bit like Java', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });
});
