"""python3-kafka 2.0.2 told api_version=(0, 10, 0): its consumer then looks offsets up with
ListOffsets v0 (max_num_offsets 1, one old-style offset answered) instead of v1.

Usage: kafka_python_v0.py BOOTSTRAP TOPIC
Produces 10 records to partition 0 (with the versions kafka-python negotiates), then, with a
consumer pinned to 0.10.0 and assigned partition 0, asks end_offsets and beginning_offsets and
the positions after seek_to_end and seek_to_beginning. Records which ListOffsets versions the
consumer built and whether offsets_for_times was refused (it needs v1). Prints one JSON line.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import UnsupportedVersionError
from kafka.protocol import offset as offset_protocol

bootstrap, topic = sys.argv[1], sys.argv[2]
COUNT = 10

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
for i in range(COUNT):
    producer.send(topic, value=f"v{i}".encode(), partition=0).get(timeout=30)
producer.close()

# The fetcher builds its requests as OffsetRequest[version](...): count the versions it uses.
built_versions = []
for version, request_class in enumerate(list(offset_protocol.OffsetRequest)):
    def counting(*args, _class=request_class, _version=version, **kwargs):
        built_versions.append(_version)
        return _class(*args, **kwargs)
    offset_protocol.OffsetRequest[version] = counting

consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version=(0, 10, 0), request_timeout_ms=20000)
tp = TopicPartition(topic, 0)
consumer.assign([tp])
end = consumer.end_offsets([tp])[tp]
beginning = consumer.beginning_offsets([tp])[tp]
consumer.seek_to_end(tp)
position_end = consumer.position(tp)
consumer.seek_to_beginning(tp)
position_beginning = consumer.position(tp)
try:
    consumer.offsets_for_times({tp: 0})
    by_time_refused = False
except UnsupportedVersionError:
    by_time_refused = True
consumer.close()

print(json.dumps({
    "end": end, "beginning": beginning, "position_end": position_end, "position_beginning": position_beginning,
    "versions": sorted(set(built_versions)), "requests": len(built_versions), "by_time_refused": by_time_refused,
}))
