"""python3-confluent-kafka (librdkafka 2.0.2): message.timestamp.type=LogAppendTime against x2.

Usage: confluent_log_append_time.py BOOTSTRAP PREFIX
Creates PREFIX-append (LogAppendTime) and PREFIX-create (CreateTime), produces one record with
timestamp 1000 (1970) to each, then switches PREFIX-create to LogAppendTime with alter_configs
and produces one more. Consumes both topics from the start and prints one JSON line: each
record's (timestamp type, timestamp) as the consumer saw it, and the wall clock (ms) before the
first produce and after the last, so the test can check the append times fall between them.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

bootstrap, prefix = sys.argv[1], sys.argv[2]
append_topic, create_topic = f"{prefix}-append", f"{prefix}-create"
OLD_MS = 1000

admin = AdminClient({"bootstrap.servers": bootstrap})
futures = admin.create_topics([
    NewTopic(append_topic, num_partitions=1, replication_factor=1, config={"message.timestamp.type": "LogAppendTime"}),
    NewTopic(create_topic, num_partitions=1, replication_factor=1)])
for future in futures.values():
    future.result(30)

producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
delivered = []
before_ms = int(time.time() * 1000)
for topic in (append_topic, create_topic):
    producer.produce(topic, value=b"old", timestamp=OLD_MS,
                     on_delivery=lambda error, msg: delivered.append(error is None and msg.timestamp()))
producer.flush(30)

resource = ConfigResource("topic", create_topic, set_config={"message.timestamp.type": "LogAppendTime"})
admin.alter_configs([resource])[resource].result(timeout=30)
producer.produce(create_topic, value=b"after-alter", timestamp=OLD_MS,
                 on_delivery=lambda error, msg: delivered.append(error is None and msg.timestamp()))
producer.flush(30)
after_ms = int(time.time() * 1000)

NAMES = {TIMESTAMP_CREATE_TIME: "CreateTime", TIMESTAMP_LOG_APPEND_TIME: "LogAppendTime"}


def consume(topic, count):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    seen = []
    deadline = time.time() + 60
    while len(seen) < count and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None or msg.error():
            continue
        kind, timestamp = msg.timestamp()
        seen.append([msg.value().decode(), NAMES.get(kind, str(kind)), timestamp])
    consumer.close()
    return seen


print(json.dumps({"before_ms": before_ms, "after_ms": after_ms,
                  "delivered": [list(t) if t else t for t in delivered],
                  "append": consume(append_topic, 1), "create": consume(create_topic, 2)}))
