"""python3-confluent-kafka (librdkafka 2.0.2) against an x2 gateway.

Usage: confluent_client.py BOOTSTRAP TOPIC GROUP
Creates TOPIC (3 partitions) with the AdminClient, produces 300 records with an idempotent
producer (keys k0..k299), consumes them with a consumer group, commits, checks the committed
offsets, seeks back on one partition and reads it again. Prints one JSON line of what it saw;
exits non-zero on any client error.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
COUNT = 300

admin = AdminClient({"bootstrap.servers": bootstrap})
futures = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
futures[topic].result(timeout=30)
listed = admin.list_topics(timeout=10)
assert topic in listed.topics, "created topic not listed"
assert len(listed.topics[topic].partitions) == 3

errors = []
delivered = []
producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})


def on_delivery(error, message):
    if error is not None:
        errors.append(str(error))
    else:
        delivered.append((message.partition(), message.offset(), message.key().decode()))


for i in range(COUNT):
    producer.produce(topic, key=f"k{i}", value=f"v{i}", on_delivery=on_delivery)
    producer.poll(0)
remaining = producer.flush(30)
assert remaining == 0, f"{remaining} records not delivered"
assert not errors, errors

consumer = Consumer({
    "bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
    "enable.auto.commit": False, "session.timeout.ms": 6000,
})
consumer.subscribe([topic])
seen = {}
deadline = time.time() + 60
while len(seen) < COUNT and time.time() < deadline:
    message = consumer.poll(0.5)
    if message is None:
        continue
    if message.error():
        raise KafkaException(message.error())
    seen[message.key().decode()] = (message.partition(), message.offset())
consumer.commit(asynchronous=False)
assignment = consumer.assignment()
committed = consumer.committed(assignment, timeout=10)
committed_total = sum(tp.offset for tp in committed)

# Seek partition 0 back to offset 0 and read it again.
partition0 = [tp for tp in assignment if tp.partition == 0][0]
consumer.seek(TopicPartition(topic, 0, 0))
again = 0
expected_again = sum(1 for p, _ in seen.values() if p == 0)
deadline = time.time() + 30
while again < expected_again and time.time() < deadline:
    message = consumer.poll(0.5)
    if message is None or message.error():
        continue
    if message.partition() == 0:
        again += 1
consumer.close()

print(json.dumps({
    "delivered": len(delivered), "consumed": len(seen), "committed_total": committed_total,
    "reread_partition0": again, "expected_partition0": expected_again,
    "in_order": all(delivered[i][1] < delivered[j][1] for i in range(len(delivered)) for j in [i + 1]
                    if j < len(delivered) and delivered[i][0] == delivered[j][0]),
    "partitions": sorted({p for p, _ in seen.values()}),
}))
