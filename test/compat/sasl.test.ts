/**
 * SASL on the Kafka port of `x2 up` (Kafka's SASL_PLAINTEXT, and SASL_SSL with TLS), with real
 * clients. Goals: kcat (librdkafka: SaslHandshake v1, SaslAuthenticate v0), kafkajs (v1, v1),
 * python3-confluent-kafka and python3-kafka 2.0.2 (SaslHandshake v0 and raw tokens) produce and
 * consume with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, consumer groups included; a wrong password
 * fails with each client's authentication error and produces nothing; a client without SASL is
 * answered ApiVersions only and closed at its next request (counted, logged); an unknown mechanism
 * gets 33 with the enabled list and a token out of sequence 34; x2 bench and x2 top authenticate;
 * bad users files and mechanism lists stop `x2 gateway` and `x2 up` at start with exit 2.
 * Method: a users file (mode 600) and openssl-made certificates in a temp dir; every x2 process is
 * dist/x2; raw-socket checks build frames with x2's codecs and read the answers byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saslHandshake } from '../../core/kafka/api/17-sasl-handshake.ts';
import { apiVersions } from '../../core/kafka/api/18-api-versions.ts';
import { saslAuthenticate } from '../../core/kafka/api/36-sasl-authenticate.ts';
import { KafkaReader } from '../../core/kafka/codec/reader.ts';
import { KafkaWriter } from '../../core/kafka/codec/writer.ts';
import { encodeRequestFrame } from '../../core/kafka/registry.ts';
import { makeTestCertificates } from '../harness/certificates.ts';
import { UpProcess } from '../harness/cluster.ts';
import { scrape } from '../harness/scrape.ts';
import { expectRefusedAtStart } from '../harness/refused-flags.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir, runX2 } from '../harness/x2.ts';

const PYTHON = '/usr/bin/python3';
const dir = makeTempDir('x2-sasl-');
const file = (name: string): string => join(dir, name);
const USER = 'alice';
const PASSWORD = 'open sesame:1';
const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

function kcat(bootstrap: string, args: string[], security: string[], input = ''): ReturnType<typeof spawnSync> {
  return spawnSync('kcat', ['-b', bootstrap, ...security, ...args], { input, encoding: 'utf8', timeout: 60_000 });
}

function kcatSasl(mechanism: string, password = PASSWORD, tls = false): string[] {
  return ['-X', `security.protocol=${tls ? 'sasl_ssl' : 'sasl_plaintext'}`, '-X', `sasl.mechanisms=${mechanism}`,
    '-X', `sasl.username=${USER}`, '-X', `sasl.password=${password}`,
    ...(tls ? ['-X', `ssl.ca.location=${file('ca.pem')}`] : [])];
}

function gatewayMetric(up: UpProcess, name: string): Promise<number> {
  const url = /gateway 0 .* metrics (http:\S+)/.exec(up.stdout)?.[1];
  if (url === undefined) throw new Error(`no gateway metrics URL in: ${up.stdout}`);
  return scrape(url).then((text) => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`));
    return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
  });
}

const gatewayLog = (up: UpProcess): string => readFileSync(join(up.dataDir, 'logs', 'gateway-0.log'), 'utf8');

/** Writes the frames in turn, each once the previous one was answered; the answers, and whether the port closed. */
function exchange(port: number, frames: Buffer[]): Promise<{ answers: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const answers: Buffer[] = [];
    let pending = Buffer.alloc(0);
    let next = 0;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ answers, closed });
    };
    const timer = setTimeout(() => finish(false), 10_000);
    const send = (): void => { if (next < frames.length) socket.write(frames[next++]!); };
    socket.once('connect', send);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        answers.push(pending.subarray(4, 4 + pending.readInt32BE(0)));
        pending = pending.subarray(4 + pending.readInt32BE(0));
        send();
      }
    });
    socket.on('error', () => undefined);
    socket.once('close', () => finish(true));
  });
}

const writer = new KafkaWriter(1 << 16);
const frameOf = <Q, S>(api: Parameters<typeof encodeRequestFrame<Q, S>>[1], version: number, body: Q): Buffer =>
  Buffer.from(encodeRequestFrame(writer, api, version, 7, 'raw', body));
/** Metadata v0 for every topic: header v1 with a null client id, an empty topic array. */
const METADATA_V0 = Buffer.from([0, 0, 0, 14, 0, 3, 0, 0, 0, 0, 0, 8, 0xff, 0xff, 0, 0, 0, 0]);

type BenchJson = { produced: { sent: number; acked: number; failed: number };
  consumed: { records: number; expected: number; lost: number; outOfOrder: number; mismatchedPartitions: number } };

function kafkajs(up: UpProcess, sasl: SASLOptions, tls = false): Kafka {
  return new Kafka({ clientId: 'x2-sasl', brokers: [up.bootstrap], logLevel: logLevel.NOTHING, sasl,
    retry: { retries: 0 }, ...(tls ? { ssl: { ca: [readFileSync(file('ca.pem'), 'utf8')] } } : {}) });
}

async function kafkajsRoundTrip(up: UpProcess, sasl: SASLOptions, topic: string, tls = false): Promise<string[]> {
  const kafka = kafkajs(up, sasl, tls);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `v${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 200 });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value!.toString()); } });
    await waitFor(() => seen.length >= 20, { timeoutMs: 45_000, what: `20 records of ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

const VALUES = Array.from({ length: 20 }, (_, i) => `v${i}`);

beforeAll(() => {
  writeFileSync(file('users'), `# x2 sasl test\n${USER}:${PASSWORD}\nbob:hunter2\n`);
  chmodSync(file('users'), 0o600);
  makeTestCertificates(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('x2 up with SASL_PLAINTEXT', () => {
  let up: UpProcess;
  beforeAll(async () => {
    up = await UpProcess.start(['--sasl-users', file('users')]);
  }, 120_000);
  afterAll(async () => { await up?.stop(); });

  it('says so at start; kcat produces and consumes with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512', () => {
    expect(up.stdout).toMatch(/sasl +clients must authenticate with SASL \(PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; 2 u/);
    expect(up.stdout).toContain('SASL_PLAINTEXT); PLAIN without TLS sends passwords in clear');
    for (const mechanism of MECHANISMS) {
      const topic = `sasl-kcat-${mechanism}`;
      const produced = kcat(up.bootstrap, ['-P', '-t', topic], kcatSasl(mechanism), 'one\ntwo\n');
      expect(produced.status, `${mechanism}: ${String(produced.stderr)}`).toBe(0);
      const consumed = kcat(up.bootstrap, ['-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%s\\n'],
        kcatSasl(mechanism));
      expect(consumed.status, String(consumed.stderr)).toBe(0);
      expect(String(consumed.stdout).trim().split('\n'), mechanism).toEqual(['one', 'two']);
    }
  });

  it('kcat with a wrong password gets an authentication failure and produces nothing', async () => {
    const failuresBefore = await gatewayMetric(up, 'x2_gateway_sasl_failures_total');
    for (const mechanism of MECHANISMS) {
      const produced = kcat(up.bootstrap, ['-P', '-t', 'sasl-kcat-wrong', '-m', '5'], kcatSasl(mechanism, 'wrong'),
        'must not land\n');
      expect(produced.status, mechanism).not.toBe(0);
      expect(String(produced.stderr)).toContain('Authentication failed: invalid username or password');
    }
    const consumed = kcat(up.bootstrap, ['-C', '-t', 'sasl-kcat-wrong', '-o', 'beginning', '-e', '-f', '%s\\n'],
      kcatSasl('PLAIN'));
    expect(String(consumed.stdout)).toBe('');
    expect(await gatewayMetric(up, 'x2_gateway_sasl_failures_total')).toBeGreaterThanOrEqual(failuresBefore + 3);
    expect(await gatewayMetric(up, 'x2_gateway_sasl_authentications_total')).toBeGreaterThan(0);
    await waitFor(() => gatewayLog(up).includes(`authentication as user "${USER}" failed`),
      { timeoutMs: 10_000, what: 'the gateway\'s log line about the failed authentication' });
    expect(gatewayLog(up)).not.toContain('wrong');
  });

  it('kafkajs produces and consumes in a group with each mechanism; a wrong password is its SASL error', async () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const sasl = { mechanism, username: USER, password: PASSWORD } as SASLOptions;
      expect(await kafkajsRoundTrip(up, sasl, `sasl-kafkajs-${mechanism}`), mechanism).toEqual(VALUES);
    }
    const producer = kafkajs(up, { mechanism: 'scram-sha-512', username: USER, password: 'wrong' }).producer();
    await expect(producer.connect()).rejects.toMatchObject({ name: 'KafkaJSSASLAuthenticationError',
      message: expect.stringMatching(/invalid username or password/) });
    await producer.disconnect();
  }, 150_000);

  it('python3-confluent-kafka and python3-kafka with each mechanism; wrong passwords fail', () => {
    const result = spawnSync(PYTHON, [join(import.meta.dirname, 'python', 'sasl_clients.py'), up.bootstrap,
      'sasl-py', USER, PASSWORD], { encoding: 'utf8', timeout: 200_000 });
    expect(result.status, `${result.stderr}\n${result.stdout}`).toBe(0);
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, Record<string, unknown>>;
    for (const mechanism of MECHANISMS) {
      expect(seen['confluent']![mechanism], mechanism).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
      expect(seen['kafka_python']![mechanism], mechanism).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
      expect(seen['confluent_wrong']![mechanism], mechanism).toBe('authentication');
      expect(seen['kafka_python_wrong']![mechanism], mechanism).toBe('NoBrokersAvailable');
    }
  }, 210_000);

  it('answers a client without SASL ApiVersions only, then closes it, counted and logged', async () => {
    const before = await gatewayMetric(up, 'x2_gateway_sasl_unauthenticated_requests_total');
    const apiVersionsV0 = frameOf(apiVersions, 0, { clientSoftwareName: '', clientSoftwareVersion: '' });
    const result = await exchange(up.port, [apiVersionsV0, METADATA_V0]);
    expect(result.closed).toBe(true);
    expect(result.answers).toHaveLength(1);
    const versions = apiVersions.response.decode(new KafkaReader(result.answers[0]!, 4), 0);
    expect(versions.apiKeys.filter((key) => key.apiKey === 17 || key.apiKey === 36)).toEqual([
      { apiKey: 17, minVersion: 0, maxVersion: 1 }, { apiKey: 36, minVersion: 0, maxVersion: 2 }]);
    expect(await gatewayMetric(up, 'x2_gateway_sasl_unauthenticated_requests_total')).toBe(before + 1);
    await waitFor(() => gatewayLog(up).includes('closing connection from 127.0.0.1: API key 3 before SASL '
      + 'authentication'), { timeoutMs: 10_000, what: 'the gateway\'s log line about the unauthenticated request' });
    const listed = kcat(up.bootstrap, ['-L', '-m', '5'], []);
    expect(listed.status).not.toBe(0);
    expect(String(listed.stdout)).not.toContain('broker 0 at');
  });

  it('an unknown mechanism gets 33 with the enabled ones, a token out of sequence 34; both close', async () => {
    const unknown = await exchange(up.port, [frameOf(saslHandshake, 1, { mechanism: 'GSSAPI' }), METADATA_V0]);
    expect(unknown.closed).toBe(true);
    expect(unknown.answers).toHaveLength(1);
    expect(saslHandshake.response.decode(new KafkaReader(unknown.answers[0]!, 4), 1)).toEqual({ errorCode: 33,
      mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] });
    const early = await exchange(up.port, [frameOf(saslAuthenticate, 1, { authBytes: Buffer.from('\0a\0b') }),
      METADATA_V0]);
    expect(early.closed).toBe(true);
    expect(early.answers).toHaveLength(1);
    expect(saslAuthenticate.response.decode(new KafkaReader(early.answers[0]!, 4), 1)).toMatchObject({
      errorCode: 34, sessionLifetimeMs: 0 });
  });

  it('x2 bench e2e with SCRAM-SHA-512 loses nothing; x2 top reads the cluster; without SASL or with a wrong '
    + 'password the bench says why', () => {
    const target = `kafka://${up.bootstrap}`;
    const bench = runX2(['bench', 'e2e', '--target', target, '--sasl-username', USER, '--sasl-mechanism',
      'SCRAM-SHA-512', '--partitions', '2', '--rate', '3000', '--duration', '2', '--topic-prefix', 'sasl-bench',
      '--json'], { timeoutMs: 120_000, env: { X2_SASL_PASSWORD: PASSWORD } });
    expect(bench.code, bench.stderr).toBe(0);
    const result = JSON.parse(bench.stdout) as BenchJson;
    expect(result.produced).toMatchObject({ sent: 6000, acked: 6000, failed: 0 });
    expect(result.consumed).toMatchObject({ records: 6000, expected: 6000, lost: 0, outOfOrder: 0,
      mismatchedPartitions: 0 });
    const top = runX2(['top', '--json', '--bootstrap', up.bootstrap, '--sasl-username', USER, '--sasl-mechanism',
      'PLAIN', '--wait-ms', '2500'], { env: { X2_SASL_PASSWORD: PASSWORD } });
    expect(top.code, top.stderr).toBe(0);
    expect((JSON.parse(top.stdout) as { nodes: Array<{ role: string }> }).nodes.map((node) => node.role))
      .toContain('gateway');
    const plain = runX2(['bench', 'produce', '--target', target, '--duration', '1']);
    expect(plain.code).toBe(74);
    expect(plain.stderr).toContain('the port requires SASL');
    const wrong = runX2(['bench', 'produce', '--target', target, '--sasl-username', USER, '--duration', '1'],
      { env: { X2_SASL_PASSWORD: 'wrong' } });
    expect(wrong.code).toBe(74);
    expect(wrong.stderr).toContain('SASL SCRAM-SHA-256: Authentication failed: invalid username or password');
  }, 150_000);
});

describe('x2 up with SASL_SSL (--sasl-users and --tls-cert)', () => {
  let up: UpProcess;
  beforeAll(async () => {
    up = await UpProcess.start(['--sasl-users', file('users'), '--sasl-mechanisms', 'PLAIN,SCRAM-SHA-512',
      '--tls-cert', file('server.pem'), '--tls-key', file('server.key')]);
  }, 120_000);
  afterAll(async () => { await up?.stop(); });

  it('kcat and kafkajs produce and consume; a disabled mechanism is refused', async () => {
    expect(up.stdout).toMatch(/sasl +clients must authenticate with SASL \(PLAIN, SCRAM-SHA-512; .*SASL_SSL\)/);
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-512']) {
      const topic = `sasl-ssl-kcat-${mechanism}`;
      const produced = kcat(up.bootstrap, ['-P', '-t', topic], kcatSasl(mechanism, PASSWORD, true), 'secure\n');
      expect(produced.status, `${mechanism}: ${String(produced.stderr)}`).toBe(0);
      const consumed = kcat(up.bootstrap, ['-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%s\\n'],
        kcatSasl(mechanism, PASSWORD, true));
      expect(String(consumed.stdout).trim(), mechanism).toBe('secure');
    }
    const disabled = kcat(up.bootstrap, ['-L', '-m', '5'], kcatSasl('SCRAM-SHA-256', PASSWORD, true));
    expect(disabled.status).not.toBe(0);
    expect(String(disabled.stderr)).toMatch(/SCRAM-SHA-256.*not supported by broker|unsupported.*mechanism/i);
    expect(await kafkajsRoundTrip(up, { mechanism: 'scram-sha-512', username: USER, password: PASSWORD },
      'sasl-ssl-kafkajs', true)).toEqual(VALUES);
  }, 120_000);

  it('python3-confluent-kafka and python3-kafka over SASL_SSL', () => {
    const result = spawnSync(PYTHON, [join(import.meta.dirname, 'python', 'sasl_clients.py'), up.bootstrap,
      'sasl-ssl-py', USER, PASSWORD, file('ca.pem'), 'PLAIN,SCRAM-SHA-512'], { encoding: 'utf8', timeout: 200_000 });
    expect(result.status, `${result.stderr}\n${result.stdout}`).toBe(0);
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, Record<string, unknown>>;
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-512']) {
      expect(seen['confluent']![mechanism], mechanism).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
      expect(seen['kafka_python']![mechanism], mechanism).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
      expect(seen['confluent_wrong']![mechanism], mechanism).toBe('authentication');
      expect(seen['kafka_python_wrong']![mechanism], mechanism).toBe('NoBrokersAvailable');
    }
  }, 210_000);

  it('x2 bench e2e with --tls-ca and PLAIN loses nothing', () => {
    const bench = runX2(['bench', 'e2e', '--target', `kafka://${up.bootstrap}`, '--tls-ca', file('ca.pem'),
      '--sasl-username', USER, '--sasl-mechanism', 'PLAIN', '--partitions', '2', '--rate', '2000', '--duration', '2',
      '--topic-prefix', 'sasl-ssl-bench', '--json'], { timeoutMs: 120_000, env: { X2_SASL_PASSWORD: PASSWORD } });
    expect(bench.code, bench.stderr).toBe(0);
    const result = JSON.parse(bench.stdout) as BenchJson;
    expect(result.produced).toMatchObject({ sent: 4000, acked: 4000, failed: 0 });
    expect(result.consumed).toMatchObject({ records: 4000, lost: 0 });
  }, 150_000);
});

describe('bad SASL flags stop x2 gateway and x2 up at start', () => {
  it('exit 2 naming the flag, the file, the line or the value, and what is allowed', async () => {
    writeFileSync(file('bad-users'), 'alice:secret\nbob secret\n');
    const cases: Array<[string[], string]> = [
      [['--sasl-users', file('bad-users')],
        `--sasl-users "${file('bad-users')}": line 2: no ":" between user and password`],
      [['--sasl-users', file('missing')], `--sasl-users "${file('missing')}": cannot be read (no such file)`],
      [['--sasl-users', file('users'), '--sasl-mechanisms', 'PLAIN,GSSAPI'], '--sasl-mechanisms: a comma-separated '
        + 'list of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 is allowed ("GSSAPI" is none of them) (got "PLAIN,GSSAPI")'],
      [['--sasl-mechanisms', 'PLAIN'], '--sasl-mechanisms: it is allowed only with --sasl-users'],
    ];
    await expectRefusedAtStart(cases);
  });
});
