"""python3-kafka 2.0.2 (its fixed low API versions: Metadata v0/v1, Produce v7, Fetch v4,
ListOffsets v1, FindCoordinator v0, JoinGroup v2, OffsetCommit v2, OffsetFetch v1) against an
x2 gateway.

Usage: kafka_python_client.py BOOTSTRAP TOPIC GROUP
Produces 100 records (acks=all), consumes them in a group, commits, reopens the group and
checks it resumes after the committed offset, looks an offset up by time, and creates, describes
and deletes a topic with the admin client. Prints one JSON line; exits non-zero on errors.
"""
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
COUNT = 100

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
start_ms = int(time.time() * 1000)
metadata = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()).get(timeout=30) for i in range(COUNT)]
producer.close()

consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                         enable_auto_commit=False, consumer_timeout_ms=10000)
values = []
for message in consumer:
    values.append(message.value.decode())
    if len(values) == COUNT:
        break
consumer.commit()
tp = TopicPartition(topic, 0)
committed = consumer.committed(tp)
by_time = consumer.offsets_for_times({tp: start_ms - 60000})[tp]
consumer.close()

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
producer.send(topic, value=b"after-commit").get(timeout=30)
producer.close()
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                         enable_auto_commit=False, consumer_timeout_ms=10000)
resumed = None
for message in consumer:
    resumed = message.value.decode()
    break
consumer.close()

admin = KafkaAdminClient(bootstrap_servers=bootstrap)
admin.create_topics([NewTopic(name=f"{topic}-admin", num_partitions=2, replication_factor=1)])
configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, f"{topic}-admin")])
config_names = sorted(name for name, *_ in configs[0].resources[0][4])
admin.delete_topics([f"{topic}-admin"])
admin.close()

print(json.dumps({
    "offsets": [m.offset for m in metadata], "values": values, "committed": committed,
    "by_time": by_time.offset if by_time else None, "resumed": resumed, "config_names": config_names,
}))
