"""python3-confluent-kafka (librdkafka 2.0.2) AdminClient.alter_configs against an x2 gateway.

Usage: confluent_alter_configs.py BOOTSTRAP TOPIC
Creates TOPIC with retention.ms and retention.bytes, then: a validate_only AlterConfigs (must
change nothing), an AlterConfigs that replaces the whole set (retention.ms and max.message.bytes;
retention.bytes goes back to its default), a bad value and an unknown topic. Prints one JSON line
with what describe_configs showed after each step and the errors the client reported.
"""
import json
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
NAMES = ("retention.ms", "retention.bytes", "max.message.bytes")

admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                              config={"retention.ms": "3600000", "retention.bytes": "1000000"})])[topic].result(30)


def described():
    resource = ConfigResource("topic", topic)
    entries = admin.describe_configs([resource])[resource].result(timeout=30)
    return {name: [entries[name].value, entries[name].is_default] for name in NAMES}


def alter(name, configs, validate_only=False):
    """None on success, else [error name, error string] as the client reports them."""
    resource = ConfigResource("topic", name, set_config=configs)
    try:
        admin.alter_configs([resource], validate_only=validate_only)[resource].result(timeout=30)
        return None
    except KafkaException as error:
        return [error.args[0].name(), error.args[0].str()]


seen = {"created": described()}
seen["validate_only_error"] = alter(topic, {"retention.ms": "60000"}, validate_only=True)
seen["after_validate_only"] = described()
seen["alter_error"] = alter(topic, {"retention.ms": "60000", "max.message.bytes": "2048"})
seen["altered"] = described()
seen["bad_value_error"] = alter(topic, {"retention.ms": "soon"})
seen["unknown_topic_error"] = alter(topic + "-missing", {"retention.ms": "60000"})
seen["after_errors"] = described()
print(json.dumps(seen))
