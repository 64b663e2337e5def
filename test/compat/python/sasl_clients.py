"""Both Debian Python clients with SASL (SASL_PLAINTEXT, or SASL_SSL with CA_FILE) against an x2 gateway.

Usage: sasl_clients.py BOOTSTRAP TOPIC_PREFIX USER PASSWORD [CA_FILE [MECHANISMS]]
For each of MECHANISMS (comma-separated; default PLAIN,SCRAM-SHA-256,SCRAM-SHA-512; an empty
CA_FILE means no TLS), python3-confluent-kafka (librdkafka,
SaslHandshake v1 + SaslAuthenticate) and python3-kafka 2.0.2 (SaslHandshake v0, raw tokens) each
produce 10 records (acks=all) to their own topic and read them back in a consumer group. Then each
tries to produce with a wrong password and must fail with its authentication error. Prints one
JSON line; exits non-zero on errors.
"""
import json
import sys

from confluent_kafka import Consumer, KafkaError, Producer
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError as KafkaPythonError

bootstrap, prefix, user, password = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ca_file = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
COUNT = 10
MECHANISMS = sys.argv[6].split(",") if len(sys.argv) > 6 else ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def confluent_config(mechanism, secret):
    config = {"bootstrap.servers": bootstrap, "sasl.mechanisms": mechanism, "sasl.username": user,
              "sasl.password": secret, "security.protocol": "sasl_ssl" if ca_file else "sasl_plaintext"}
    if ca_file:
        config["ssl.ca.location"] = ca_file
    return config


def kafka_python_config(mechanism, secret):
    config = {"bootstrap_servers": bootstrap, "sasl_mechanism": mechanism, "sasl_plain_username": user,
              "sasl_plain_password": secret, "security_protocol": "SASL_SSL" if ca_file else "SASL_PLAINTEXT"}
    if ca_file:
        config["ssl_cafile"] = ca_file
    return config


def confluent_round_trip(mechanism):
    topic = f"{prefix}-confluent-{mechanism}"
    errors = []
    producer = Producer({**confluent_config(mechanism, password), "acks": "all"})
    for i in range(COUNT):
        producer.produce(topic, value=f"c{i}".encode(), on_delivery=lambda err, _m: err and errors.append(str(err)))
    remaining = producer.flush(30)
    if remaining or errors:
        sys.exit(f"confluent {mechanism} produce: {remaining} not delivered, errors {errors[:3]}")
    consumer = Consumer({**confluent_config(mechanism, password), "group.id": f"{topic}-group",
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    consumer.subscribe([topic])
    values = []
    for _ in range(600):
        message = consumer.poll(0.1)
        if message is None:
            continue
        if message.error():
            sys.exit(f"confluent {mechanism} consume: {message.error()}")
        values.append(message.value().decode())
        if len(values) == COUNT:
            break
    consumer.close()
    return values


def kafka_python_round_trip(mechanism):
    topic = f"{prefix}-kafka-python-{mechanism}"
    producer = KafkaProducer(acks="all", **kafka_python_config(mechanism, password))
    for i in range(COUNT):
        producer.send(topic, value=f"k{i}".encode()).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(topic, group_id=f"{topic}-group", auto_offset_reset="earliest",
                             consumer_timeout_ms=15000, **kafka_python_config(mechanism, password))
    values = []
    for message in consumer:
        values.append(message.value.decode())
        if len(values) == COUNT:
            break
    consumer.close()
    return values


def confluent_wrong_password(mechanism):
    """The error the client reports: librdkafka's _AUTHENTICATION through error_cb."""
    seen = []
    producer = Producer({**confluent_config(mechanism, password + "-wrong"), "message.timeout.ms": 5000,
                         "error_cb": lambda error: seen.append(error)})
    producer.produce(f"{prefix}-wrong-confluent", value=b"must not land")
    producer.flush(8)
    codes = {error.code() for error in seen}
    return "authentication" if KafkaError._AUTHENTICATION in codes else f"other: {[str(e) for e in seen][:2]}"


def kafka_python_wrong_password(mechanism):
    """kafka-python 2.0.2 sees the gateway close the connection: NoBrokersAvailable at bootstrap."""
    try:
        producer = KafkaProducer(request_timeout_ms=5000, **kafka_python_config(mechanism, password + "-wrong"))
        producer.send(f"{prefix}-wrong-kafka-python", value=b"must not land").get(timeout=10)
        return "produced"
    except KafkaPythonError as error:
        return type(error).__name__


result = {"confluent": {}, "kafka_python": {}, "confluent_wrong": {}, "kafka_python_wrong": {}}
for mechanism in MECHANISMS:
    result["confluent"][mechanism] = confluent_round_trip(mechanism)
    result["kafka_python"][mechanism] = kafka_python_round_trip(mechanism)
    result["confluent_wrong"][mechanism] = confluent_wrong_password(mechanism)
    result["kafka_python_wrong"][mechanism] = kafka_python_wrong_password(mechanism)
print(json.dumps(result))
