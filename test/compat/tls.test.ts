/**
 * TLS on the Kafka port (Kafka's SSL listener) of `x2 up`, with real clients. Goals: kcat,
 * kafkajs, python3-confluent-kafka and python3-kafka produce and consume through it (groups
 * included), verifying the gateway's certificate and address as they do by default; x2 bench e2e
 * and x2 top work through it; Metadata advertises the same host:port; a plaintext client is
 * closed, counted and logged, and the port keeps serving TLS clients; with --tls-client-ca only a
 * client with a certificate that CA signed gets in; bad certificate and key files stop
 * `x2 gateway` and `x2 up` at start with exit 2, naming the flag, the file and the problem.
 * Method: the openssl CLI makes a CA, a server certificate for IP 127.0.0.1, a client certificate
 * and a client certificate of another CA in a temp dir (removed afterwards); every x2 process is
 * dist/x2.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates } from '../harness/certificates.ts';
import { UpProcess } from '../harness/cluster.ts';
import { expectRefusedAtStart } from '../harness/refused-flags.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir, runX2 } from '../harness/x2.ts';

const PYTHON = '/usr/bin/python3';
const certs = makeTempDir('x2-tls-certs-');
const file = (name: string): string => join(certs, name);

const SERVER_TLS = (): string[] => ['--tls-cert', file('server.pem'), '--tls-key', file('server.key')];

function kcat(bootstrap: string, args: string[], tls: string[], input = ''): ReturnType<typeof spawnSync> {
  return spawnSync('kcat', ['-b', bootstrap, ...tls, ...args], { input, encoding: 'utf8', timeout: 60_000 });
}

const kcatTls = (): string[] => ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${file('ca.pem')}`];
const kcatClientCertificate = (name: string): string[] => ['-X', `ssl.certificate.location=${file(`${name}.pem`)}`,
  '-X', `ssl.key.location=${file(`${name}.key`)}`];

function gatewayMetric(up: UpProcess, name: string): Promise<number> {
  const url = /gateway 0 .* metrics (http:\S+)/.exec(up.stdout)?.[1];
  if (url === undefined) throw new Error(`no gateway metrics URL in: ${up.stdout}`);
  return fetch(url).then((response) => response.text()).then((text) => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`));
    return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
  });
}

const gatewayLog = (up: UpProcess): string => readFileSync(join(up.dataDir, 'logs', 'gateway-0.log'), 'utf8');

/** A plaintext ApiVersions request on a raw socket: what the port does with it. */
function plaintextApiVersions(port: number): Promise<{ closed: boolean; answeredBytes: number }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answeredBytes = 0;
    const timer = setTimeout(() => { socket.destroy(); resolve({ closed: false, answeredBytes }); }, 15_000);
    socket.once('connect', () => socket.write(Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff])));
    socket.on('data', (chunk: Buffer) => { answeredBytes += chunk.length; });
    socket.on('error', () => undefined);
    socket.once('close', () => { clearTimeout(timer); resolve({ closed: true, answeredBytes }); });
  });
}

type BenchJson = { produced: { sent: number; acked: number; failed: number };
  consumed: { records: number; expected: number; lost: number; outOfOrder: number; mismatchedPartitions: number } };

beforeAll(() => {
  makeTestCertificates(certs);
});

afterAll(() => {
  rmSync(certs, { recursive: true, force: true });
});

describe('x2 up with TLS on the Kafka port', () => {
  let up: UpProcess;
  beforeAll(async () => {
    up = await UpProcess.start(SERVER_TLS());
  }, 120_000);
  afterAll(async () => { await up?.stop(); });

  it('says so at start and advertises the same host:port in Metadata (kcat -L over TLS)', () => {
    expect(up.stdout).toContain(`bootstrap ${up.bootstrap} (TLS only)`);
    expect(up.stdout).toMatch(/tls +TLSv1\.2\+, certificate CN=127\.0\.0\.1, .*client certificates not asked for/);
    const listed = kcat(up.bootstrap, ['-L'], kcatTls());
    expect(listed.status, String(listed.stderr)).toBe(0);
    expect(String(listed.stdout)).toContain(`broker 0 at ${up.bootstrap}`);
  });

  it('kcat produces and consumes with security.protocol=ssl', () => {
    const produced = kcat(up.bootstrap, ['-P', '-t', 'tls-kcat'], kcatTls(), 'one\ntwo\nthree\n');
    expect(produced.status, String(produced.stderr)).toBe(0);
    const consumed = kcat(up.bootstrap, ['-C', '-t', 'tls-kcat', '-o', 'beginning', '-e', '-f', '%s\\n'], kcatTls());
    expect(consumed.status, String(consumed.stderr)).toBe(0);
    expect(String(consumed.stdout).trim().split('\n')).toEqual(['one', 'two', 'three']);
  });

  it('kafkajs produces and consumes in a group with ssl: { ca }', async () => {
    const kafka = new Kafka({ clientId: 'x2-tls', brokers: [up.bootstrap], logLevel: logLevel.NOTHING,
      ssl: { ca: [readFileSync(file('ca.pem'), 'utf8')] } });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'tls-kafkajs', acks: -1,
      messages: Array.from({ length: 100 }, (_, i) => ({ value: `v${i}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'tls-kafkajs-group', maxWaitTimeInMs: 200 });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'tls-kafkajs', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value!.toString()); } });
      await waitFor(() => seen.length >= 100, { timeoutMs: 45_000, what: '100 records through TLS' });
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => `v${i}`));
  });

  it('python3-confluent-kafka and python3-kafka produce and consume in groups over SSL', () => {
    const result = spawnSync(PYTHON, [join(import.meta.dirname, 'python', 'tls_clients.py'), up.bootstrap,
      file('ca.pem'), 'tls-py'], { encoding: 'utf8', timeout: 150_000 });
    expect(result.status, `${result.stderr}\n${result.stdout}`).toBe(0);
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { confluent: string[];
      kafka_python: string[] };
    expect(seen.confluent).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`));
    expect(seen.kafka_python).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`));
  }, 160_000);

  it('x2 bench e2e --tls-ca loses nothing, and x2 top --tls-ca reads the cluster', () => {
    const bench = runX2(['bench', 'e2e', '--target', `kafka://${up.bootstrap}`, '--tls-ca', file('ca.pem'),
      '--partitions', '2', '--rate', '3000', '--duration', '2', '--topic-prefix', 'tls-bench', '--json'],
    { timeoutMs: 120_000 });
    expect(bench.code, bench.stderr).toBe(0);
    const result = JSON.parse(bench.stdout) as BenchJson;
    expect(result.produced).toMatchObject({ sent: 6000, acked: 6000, failed: 0 });
    expect(result.consumed).toMatchObject({ records: 6000, expected: 6000, lost: 0, outOfOrder: 0,
      mismatchedPartitions: 0 });
    const top = runX2(['top', '--json', '--bootstrap', up.bootstrap, '--tls-ca', file('ca.pem'), '--wait-ms', '2500']);
    expect(top.code, top.stderr).toBe(0);
    const view = JSON.parse(top.stdout) as { nodes: Array<{ role: string }> };
    expect(view.nodes.map((node) => node.role)).toContain('gateway');
    // Without TLS flags the bench is closed on, and says what may be wrong.
    const plain = runX2(['bench', 'produce', '--target', `kafka://${up.bootstrap}`, '--duration', '1']);
    expect(plain.code).toBe(74);
    expect(plain.stderr).toContain('closed the connection before answering (a TLS port? then --tls-ca)');
  }, 150_000);

  it('closes a plaintext client, counts and logs it, and keeps serving TLS clients', async () => {
    const failuresBefore = await gatewayMetric(up, 'x2_gateway_tls_handshake_failures_total');
    const plaintext = await plaintextApiVersions(up.port);
    expect(plaintext).toEqual({ closed: true, answeredBytes: 0 });
    await waitFor(() => gatewayLog(up).includes('TLS handshake failed: not TLS (a plaintext client?'),
      { timeoutMs: 10_000, what: 'the gateway\'s log line about the plaintext client' });
    expect(await gatewayMetric(up, 'x2_gateway_tls_handshake_failures_total')).toBeGreaterThan(failuresBefore);
    const consumed = kcat(up.bootstrap, ['-C', '-t', 'tls-kcat', '-o', 'beginning', '-e', '-f', '%s\\n'], kcatTls());
    expect(consumed.status, String(consumed.stderr)).toBe(0);
    expect(String(consumed.stdout).trim().split('\n')).toEqual(['one', 'two', 'three']);
  });
});

describe('x2 up with --tls-client-ca (client certificates required)', () => {
  let up: UpProcess;
  beforeAll(async () => {
    up = await UpProcess.start([...SERVER_TLS(), '--tls-client-ca', file('ca.pem')]);
  }, 120_000);
  afterAll(async () => { await up?.stop(); });

  it('serves a client whose certificate the CA signed (kcat, x2 bench)', () => {
    expect(up.stdout).toContain(`client certificates required (${file('ca.pem')})`);
    const tls = [...kcatTls(), ...kcatClientCertificate('client')];
    const produced = kcat(up.bootstrap, ['-P', '-t', 'tls-mutual'], tls, 'signed\n');
    expect(produced.status, String(produced.stderr)).toBe(0);
    const consumed = kcat(up.bootstrap, ['-C', '-t', 'tls-mutual', '-o', 'beginning', '-e', '-f', '%s\\n'], tls);
    expect(String(consumed.stdout).trim()).toBe('signed');
    const bench = runX2(['bench', 'produce', '--target', `kafka://${up.bootstrap}`, '--tls-ca', file('ca.pem'),
      '--tls-cert', file('client.pem'), '--tls-key', file('client.key'), '--rate', '1000', '--duration', '1',
      '--topic-prefix', 'tls-mutual-bench', '--json'], { timeoutMs: 60_000 });
    expect(bench.code, bench.stderr).toBe(0);
    expect((JSON.parse(bench.stdout) as BenchJson).produced).toMatchObject({ sent: 1000, acked: 1000, failed: 0 });
  });

  it('refuses a client without a certificate, or with one another CA signed', async () => {
    for (const tls of [kcatTls(), [...kcatTls(), ...kcatClientCertificate('stranger')]]) {
      const listed = kcat(up.bootstrap, ['-L', '-m', '5'], tls);
      expect(listed.status, tls.join(' ')).not.toBe(0);
      expect(String(listed.stdout)).not.toContain('broker 0 at');
    }
    const bench = runX2(['bench', 'produce', '--target', `kafka://${up.bootstrap}`, '--tls-ca', file('ca.pem'),
      '--duration', '1']);
    expect(bench.code).toBe(74);
    expect(bench.stderr).toMatch(/certificate required/);
    await waitFor(() => gatewayLog(up).includes('TLS handshake failed: client certificate refused'),
      { timeoutMs: 10_000, what: 'the gateway\'s log line about the refused client' });
  });
});

describe('bad TLS files stop x2 gateway and x2 up at start', () => {
  it('exit 2 naming the flag, the file and the problem', async () => {
    writeFileSync(file('not-pem.txt'), 'hello\n');
    const missing = file('missing.pem');
    const cases: Array<[string[], string]> = [
      [['--tls-cert', missing, '--tls-key', file('server.key')],
        `--tls-cert "${missing}": cannot be read (no such file)`],
      [['--tls-cert', file('not-pem.txt'), '--tls-key', file('server.key')],
        `--tls-cert "${file('not-pem.txt')}": is not a PEM certificate`],
      [['--tls-cert', file('server.pem'), '--tls-key', file('server.pem')],
        `--tls-key "${file('server.pem')}": is not a PEM private key`],
      [['--tls-cert', file('server.pem'), '--tls-key', file('client.key')],
        `--tls-key "${file('client.key')}": is not the key of the certificate in --tls-cert "${file('server.pem')}"`],
      [[...SERVER_TLS(), '--tls-client-ca', file('not-pem.txt')],
        `--tls-client-ca "${file('not-pem.txt')}": is not a PEM certificate`],
      [['--tls-cert', file('server.pem')], '--tls-cert and --tls-key go together'],
    ];
    await expectRefusedAtStart(cases);
  });
});
