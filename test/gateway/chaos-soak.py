"""Producer and verifier of test/gateway/chaos-soak.sh (python3-confluent-kafka, librdkafka 2.0.2).

Usage:
  chaos-soak.py create BOOTSTRAP TOPICS
  chaos-soak.py produce BOOTSTRAP TOPICS NAME RATE ACKED_LOG
  chaos-soak.py verify BOOTSTRAP TOPICS SNAPSHOT [--previous SNAPSHOT] [--kills FILE] ACKED_LOG...
TOPICS is "name:partitions,...". A record's value is "TAG:SEQ:" plus SEQ % 97 bytes of "x", where
TAG names one producer instance (NAME and a counter: a fatal error makes a new instance, whose
sequence numbers librdkafka orders apart from the old one's) and SEQ counts that producer's records.

produce: acks=all, enable.idempotence=true, a steady RATE records/s over every partition, until
SIGTERM; every successful delivery report is one line of ACKED_LOG ("tag seq topic partition offset
unix-time"). Failed deliveries were never acknowledged and are only counted.

A fatal error (librdkafka gave up on the idempotent producer's state) makes a new instance; the
old one's queued records fail. PRODUCER_DEBUG (e.g. "eos") turns on librdkafka's debug log.

verify: reads every partition from offset 0 up to its high watermark and checks that each
acknowledged (partition, offset, value) is there, that no value appears twice, that each tag's
sequence numbers ascend within a partition (second copies aside), that offsets run 0..hw-1
without gaps and that every record of the --previous read is still at its offset. With --kills
it also reports, per role killed, the longest pause of acknowledgements until the next kill.
Prints one JSON line; exit status 1 on FAIL.
"""
import json
import pickle
import random
import signal
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def parse_topics(spec):
    return [(name, int(count)) for name, count in (item.split(':') for item in spec.split(','))]


def value_of(tag, seq):
    return f'{tag}:{seq}:'.encode() + b'x' * (seq % 97)


def log(*parts):
    print(time.strftime('%H:%M:%S'), *parts, file=sys.stderr, flush=True)


def create(bootstrap, topics):
    admin = AdminClient({'bootstrap.servers': bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=count, replication_factor=1)
                                   for name, count in topics])
    for name, future in futures.items():
        try:
            future.result(timeout=60)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def produce(bootstrap, topics, name, rate, acked_path):
    partitions = [(topic, p) for topic, count in topics for p in range(count)]
    stopping = False
    fatal = []
    counts = {'produced': 0, 'acked': 0, 'failed': 0, 'instances': 0, 'fatal': 0, 'produceErrors': 0}
    failures = {}

    def on_stop(_signum, _frame):
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    acked = open(acked_path, 'a', buffering=1 << 16)

    def on_error(error):
        # Transport errors while a role restarts are expected and retried by librdkafka; only a
        # fatal error (the idempotent producer's state is lost) needs a new instance.
        if error.fatal():
            fatal.append(error)
            log(f'{name}: fatal error: {error}')

    def make_producer():
        counts['instances'] += 1
        tag = f'{name}i{counts["instances"]}'
        # message.timeout.ms bounds how long a record waits while the cluster restarts; past it the
        # record fails (never acknowledged) and librdkafka resets the producer id (drain and reset).
        config = {
            'bootstrap.servers': bootstrap, 'enable.idempotence': True, 'acks': 'all', 'linger.ms': 5,
            'message.timeout.ms': int(MESSAGE_TIMEOUT_MS), 'error_cb': on_error, 'log_level': 4,
        }
        if PRODUCER_DEBUG:
            config.update({'debug': PRODUCER_DEBUG, 'log_level': 7})  # e.g. "eos": librdkafka's idempotence steps
        return tag, Producer(config)

    def on_delivery_for(tag, seq):
        def on_delivery(error, message):
            if error is not None:
                counts['failed'] += 1
                failures[error.name()] = failures.get(error.name(), 0) + 1
                return
            counts['acked'] += 1
            acked.write(f'{tag} {seq} {message.topic()} {message.partition()} {message.offset()} {time.time():.3f}\n')
        return on_delivery

    def serve(producer, timeout_s, flush=False):
        """poll or flush; they raise librdkafka's fatal errors, which make a new instance."""
        try:
            return producer.flush(timeout_s) if flush else producer.poll(timeout_s)
        except KafkaException as error:
            if not error.args[0].fatal():
                raise
            if not fatal:
                fatal.append(error.args[0])
                log(f'{name}: fatal error: {error}')
            return len(producer) if flush else 0

    tag, producer = make_producer()
    seq = 0
    chooser = random.Random(name)
    tick_s = 0.01
    next_tick = time.monotonic()
    while not stopping:
        if fatal:
            serve(producer, 5, flush=True)  # the failed instance's records fail (never acknowledged)
            counts['fatal'] += 1
            fatal.clear()
            tag, producer = make_producer()
            seq = 0
        for _ in range(max(1, round(rate * tick_s))):
            topic, partition = chooser.choice(partitions)
            queued = False
            while not queued and not fatal:
                try:
                    producer.produce(topic, value=value_of(tag, seq), partition=partition,
                                     on_delivery=on_delivery_for(tag, seq))
                    queued = True
                except BufferError:
                    serve(producer, 0.1)  # the local queue is full while the cluster is down
                except KafkaException as error:
                    # Fatal: the loop above makes a new instance. Otherwise (say, a partition
                    # unknown while the metadata is refreshed) try the same record again.
                    if error.args[0].fatal() or error.args[0].code() == KafkaError._FATAL:
                        if not fatal:
                            fatal.append(error.args[0])
                    else:
                        counts['produceErrors'] += 1
                        log(f'{name}: produce: {error}; retrying')
                    serve(producer, 0.1)
            if not queued:
                break
            seq += 1
            counts['produced'] += 1
        serve(producer, 0)
        next_tick += tick_s
        time.sleep(max(0.0, next_tick - time.monotonic()))
    left = serve(producer, MESSAGE_TIMEOUT_MS / 1000 + 10, flush=True)
    acked.close()
    print(json.dumps({'producer': name, **counts, 'notDelivered': left, 'failures': failures}), flush=True)


def read_all(bootstrap, topics, timeout_s):
    """Every record of every partition from offset 0 to the high watermark: {(topic, p): [(offset, value)]}."""
    consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'x2-chaos-verify', 'enable.auto.commit': False,
                         'auto.offset.reset': 'error', 'check.crcs': True, 'enable.partition.eof': False})
    deadline = time.time() + timeout_s
    high = {}
    for topic, count in topics:
        for p in range(count):
            while True:
                try:
                    low, high[(topic, p)] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                    break
                except KafkaException as error:
                    if time.time() > deadline:
                        raise
                    log(f'watermarks of {topic}/{p}: {error}; retrying')
                    time.sleep(1)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for (topic, p) in high])
    records = {tp: [] for tp in high}
    done = {tp for tp, hw in high.items() if hw == 0}
    while len(done) < len(high):
        if time.time() > deadline:
            raise SystemExit(f'read timed out: {len(done)} of {len(high)} partitions read to their high watermark')
        for message in consumer.consume(10000, 1.0):
            if message.error():
                log(f'consume: {message.error()}')
                continue
            tp = (message.topic(), message.partition())
            records[tp].append((message.offset(), message.value()))
            if message.offset() + 1 >= high[tp]:
                done.add(tp)
    consumer.close()
    return high, records


def verify(bootstrap, topics, snapshot_path, previous_path, kills_path, acked_paths):
    started = time.time()
    high, records = read_all(bootstrap, topics, float(READ_TIMEOUT_S))
    read_s = time.time() - started
    result = {'highWatermarks': sum(high.values()), 'consumed': 0, 'acknowledged': 0, 'ackedWithoutOffset': 0,
              'found': 0, 'missing': 0, 'wrongValue': 0, 'duplicated': 0, 'outOfOrder': 0, 'offsetGaps': 0, 'offsetRepeats': 0,
              'corruptValues': 0, 'unacknowledgedPresent': 0, 'vanished': 0, 'readSeconds': round(read_s, 1)}
    examples = []
    at = {}  # (topic, p, offset) -> value
    seen = {}  # value -> (topic, p, offset)
    for tp, rows in records.items():
        last_seq = {}
        expected_offset = 0
        for offset, value in rows:
            result['consumed'] += 1
            if offset < expected_offset:
                result['offsetRepeats'] += 1
                continue
            if offset > expected_offset:
                result['offsetGaps'] += 1
                examples.append(f'offset gap in {tp[0]}/{tp[1]}: {expected_offset}..{offset - 1} missing')
            expected_offset = offset + 1
            at[(tp[0], tp[1], offset)] = value
            try:
                tag, seq_text, pad = value.split(b':', 2)
                seq = int(seq_text)
                if value != value_of(tag.decode(), seq):
                    raise ValueError
            except ValueError:
                result['corruptValues'] += 1
                examples.append(f'corrupt value at {tp[0]}/{tp[1]}@{offset}: {value[:40]!r}')
                continue
            if value in seen:
                # A second copy is counted once, as a duplicate, not again as out of order.
                result['duplicated'] += 1
                examples.append(f'duplicate {value[:30]!r} at {tp[0]}/{tp[1]}@{offset}, first at {seen[value]}')
                continue
            seen[value] = (tp[0], tp[1], offset)
            if tag in last_seq and seq <= last_seq[tag][0]:
                result['outOfOrder'] += 1
                examples.append(f'out of order in {tp[0]}/{tp[1]}: {tag.decode()} seq {seq} at {offset} after '
                                f'seq {last_seq[tag][0]} at {last_seq[tag][1]}')
            last_seq[tag] = (seq, offset)
        if expected_offset < high[tp]:
            result['offsetGaps'] += 1
            examples.append(f'{tp[0]}/{tp[1]} read only to {expected_offset} of high watermark {high[tp]}')
    acked_values = set()
    ack_times = []
    for path in acked_paths:
        with open(path) as lines:
            for line in lines:
                fields = line.split()
                if len(fields) != 6:
                    continue  # a line cut by kill -9 of a producer: never happens with SIGTERM
                tag, seq, topic, p, offset, when = fields
                value = value_of(tag, int(seq))
                acked_values.add(value)
                ack_times.append(float(when))
                result['acknowledged'] += 1
                if offset == 'None' or int(offset) < 0:
                    # librdkafka acknowledges without an offset a batch it infers was written: one that
                    # failed "possibly persisted" and was followed by a success. It must be there, once.
                    result['ackedWithoutOffset'] += 1
                    where = seen.get(value)
                    if where is not None and where[:2] == (topic, int(p)):
                        result['found'] += 1
                    else:
                        result['missing'] += 1
                        examples.append(f'missing {tag}:{seq} acked without an offset in {topic}/{p} '
                                        f'(stored elsewhere: {where})')
                    continue
                stored = at.get((topic, int(p), int(offset)))
                if stored == value:
                    result['found'] += 1
                elif stored is None:
                    result['missing'] += 1
                    examples.append(f'missing {tag}:{seq} acked at {topic}/{p}@{offset} (high watermark '
                                    f'{high.get((topic, int(p)))}, stored elsewhere: {seen.get(value)})')
                else:
                    result['wrongValue'] += 1
                    examples.append(f'{tag}:{seq} acked at {topic}/{p}@{offset} but {stored[:30]!r} is there '
                                    f'(value found at {seen.get(value)})')
    result['unacknowledgedPresent'] = sum(1 for value in seen if value not in acked_values)
    if previous_path:
        with open(previous_path, 'rb') as file:
            previous = pickle.load(file)
        for key, value in previous.items():
            if at.get(key) != value:
                result['vanished'] += 1
                examples.append(f'{key} was {value[:30]!r} in the previous read, now {at.get(key, b"")[:30]!r}')
    with open(snapshot_path, 'wb') as file:
        pickle.dump(at, file)
    if kills_path:
        result['ackStalls'] = ack_stalls(kills_path, sorted(ack_times))
    failed = any(result[key] for key in ('missing', 'wrongValue', 'duplicated', 'outOfOrder', 'offsetGaps',
                                         'offsetRepeats', 'corruptValues', 'vanished'))
    result['verdict'] = 'FAIL' if failed else 'PASS'
    result['examples'] = examples[:20]
    print(json.dumps(result), flush=True)
    return 1 if failed else 0


def ack_stalls(kills_path, ack_times):
    """Per role killed: the longest pause between acknowledgements from the kill to the next kill."""
    import bisect
    kills = []
    with open(kills_path) as lines:
        for line in lines:
            fields = line.split()
            if len(fields) >= 2 and fields[1] != 'skipped':
                kills.append((float(fields[0]), fields[1]))
    stalls = {}
    for index, (when, role) in enumerate(kills):
        until = kills[index + 1][0] if index + 1 < len(kills) else (ack_times[-1] if ack_times else when)
        start = bisect.bisect_left(ack_times, when)
        end = bisect.bisect_right(ack_times, until)
        points = [when] + ack_times[start:end]
        longest = max((b - a for a, b in zip(points, points[1:])), default=until - when)
        stalls.setdefault(role, []).append(round(longest, 2))
    return {role: {'kills': len(values), 'maxS': max(values), 'medianS': sorted(values)[len(values) // 2]}
            for role, values in stalls.items()}


MESSAGE_TIMEOUT_MS = 30000
READ_TIMEOUT_S = 600
PRODUCER_DEBUG = ''

if __name__ == '__main__':
    import os
    MESSAGE_TIMEOUT_MS = int(os.environ.get('MESSAGE_TIMEOUT_MS', MESSAGE_TIMEOUT_MS))
    READ_TIMEOUT_S = int(os.environ.get('READ_TIMEOUT_S', READ_TIMEOUT_S))
    PRODUCER_DEBUG = os.environ.get('PRODUCER_DEBUG', '')
    command, bootstrap, topic_spec = sys.argv[1], sys.argv[2], parse_topics(sys.argv[3])
    if command == 'create':
        create(bootstrap, topic_spec)
    elif command == 'produce':
        produce(bootstrap, topic_spec, sys.argv[4], float(sys.argv[5]), sys.argv[6])
    elif command == 'verify':
        args = sys.argv[4:]
        snapshot, previous, kills, paths = args[0], None, None, []
        rest = iter(args[1:])
        for arg in rest:
            if arg == '--previous':
                previous = next(rest)
            elif arg == '--kills':
                kills = next(rest)
            else:
                paths.append(arg)
        sys.exit(verify(bootstrap, topic_spec, snapshot, previous, kills, paths))
    else:
        sys.exit(f'unknown command {command} (create, produce, verify)')
