"""A confluent-kafka (librdkafka) consumer group member for interop tests.

Usage: consumer.py BROKERS TOPIC GROUP [CONFIG_JSON]
CONFIG_JSON holds extra librdkafka settings, e.g. {"partition.assignment.strategy": "roundrobin"}.
Prints one JSON object per line: ready, assigned, revoked, message, error, closed. The assigned and
revoked events carry the partitions that changed and `holding`, every partition held afterwards
(with group.protocol=consumer or a cooperative strategy, librdkafka reports incremental changes).
SIGTERM closes the consumer cleanly (commit, leave the group) and exits.
"""
import json
import signal
import sys

from confluent_kafka import Consumer, KafkaException


def emit(**event):
    print(json.dumps(event), flush=True)


def main():
    brokers, topic, group = sys.argv[1:4]
    extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))

    config = {
        "bootstrap.servers": brokers,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
        "error_cb": lambda error: emit(type="error", code=error.name(), message=error.str()),
    }
    config.update(extra)
    consumer = Consumer(config)
    incremental = config.get("group.protocol") == "consumer" or "cooperative" in str(
        config.get("partition.assignment.strategy", "")
    )
    holding = set()

    def on_assign(_consumer, partitions):
        changed = {p.partition for p in partitions}
        if not incremental:
            holding.clear()
        holding.update(changed)
        emit(type="assigned", partitions=sorted(changed), holding=sorted(holding))

    def on_revoke(_consumer, partitions):
        changed = {p.partition for p in partitions}
        if incremental:
            holding.difference_update(changed)
        else:
            holding.clear()
        emit(type="revoked", partitions=sorted(changed), holding=sorted(holding))

    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    emit(type="ready")
    try:
        while running[0]:
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                emit(type="error", code=message.error().name(), message=message.error().str())
                continue
            value = message.value()
            emit(
                type="message",
                partition=message.partition(),
                offset=message.offset(),
                value=value.decode("utf-8", "replace") if value is not None else None,
            )
    except KafkaException as error:
        emit(type="error", code=error.args[0].name(), message=error.args[0].str())
    finally:
        consumer.close()
        emit(type="closed")


if __name__ == "__main__":
    main()
