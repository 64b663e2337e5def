"""Both Debian Python clients over TLS (security.protocol=SSL) against an x2 gateway.

Usage: tls_clients.py BOOTSTRAP CA_FILE TOPIC_PREFIX [CLIENT_CERT CLIENT_KEY]
python3-confluent-kafka (librdkafka) and python3-kafka 2.0.2 each produce 50 records (acks=all)
to their own topic and read them back in a consumer group, verifying the gateway's certificate
against CA_FILE (and its IP address, as both do by default); with CLIENT_CERT/KEY they present a
client certificate. Prints one JSON line; exits non-zero on errors.
"""
import json
import sys

from confluent_kafka import Consumer, Producer
from kafka import KafkaConsumer, KafkaProducer

bootstrap, ca_file, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
client_cert, client_key = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
COUNT = 50

confluent_tls = {"security.protocol": "ssl", "ssl.ca.location": ca_file}
if client_cert:
    confluent_tls.update({"ssl.certificate.location": client_cert, "ssl.key.location": client_key})
kafka_python_tls = {"security_protocol": "SSL", "ssl_cafile": ca_file}
if client_cert:
    kafka_python_tls.update({"ssl_certfile": client_cert, "ssl_keyfile": client_key})

# confluent-kafka
topic = f"{prefix}-confluent"
errors = []
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **confluent_tls})
for i in range(COUNT):
    producer.produce(topic, value=f"c{i}".encode(), on_delivery=lambda err, _msg: err and errors.append(str(err)))
remaining = producer.flush(30)
if remaining or errors:
    sys.exit(f"confluent produce: {remaining} not delivered, errors {errors[:3]}")
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-group", "auto.offset.reset": "earliest",
                     "session.timeout.ms": 6000, **confluent_tls})
consumer.subscribe([topic])
confluent_values = []
for _ in range(600):
    message = consumer.poll(0.1)
    if message is None:
        if len(confluent_values) == COUNT:
            break
        continue
    if message.error():
        sys.exit(f"confluent consume: {message.error()}")
    confluent_values.append(message.value().decode())
    if len(confluent_values) == COUNT:
        break
consumer.commit(asynchronous=False)
consumer.close()

# kafka-python
topic = f"{prefix}-kafka-python"
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **kafka_python_tls)
for i in range(COUNT):
    producer.send(topic, value=f"k{i}".encode()).get(timeout=30)
producer.close()
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"{topic}-group", auto_offset_reset="earliest",
                         enable_auto_commit=False, consumer_timeout_ms=15000, **kafka_python_tls)
kafka_python_values = []
for message in consumer:
    kafka_python_values.append(message.value.decode())
    if len(kafka_python_values) == COUNT:
        break
consumer.commit()
consumer.close()

print(json.dumps({"confluent": confluent_values, "kafka_python": kafka_python_values}))
