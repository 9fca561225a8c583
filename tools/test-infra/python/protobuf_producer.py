"""Produces Protobuf messages with Confluent's ProtobufSerializer (confluent-kafka) for interop tests.

Usage: protobuf_producer.py BROKERS REGISTRY_URL TOPIC
Builds the message classes of this schema at run time (no protoc needed) and produces one record
of each: shop.Order (top level, index [0]), shop.Order.Line (nested, declared after a map entry,
so its Confluent indexes are [0, 1]) and shop.Refund (second top-level message, [1]):

    syntax = "proto3";
    package shop;
    message Order {
      string id = 1;
      int64 amount_cents = 2;
      map<string, string> tags = 3;
      repeated Line lines = 4;
      message Line { string sku = 1; int32 quantity = 2; }
    }
    message Refund { string order_id = 1; Reason reason = 2; enum Reason { UNKNOWN = 0; DAMAGED = 1; } }

Each record uses its own subject (TopicRecordNameStrategy), as a topic carrying several types does.
Prints one JSON line per delivered record: {"type": "delivered", "message": ..., "partition", "offset"}.
"""
import json
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_record_subject_name_strategy
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def field(name, number, type_, label=F.LABEL_OPTIONAL, type_name=None):
    result = F(name=name, number=number, type=type_, label=label, json_name=None)
    result.ClearField("json_name")
    if type_name:
        result.type_name = type_name
    return result


def build_file():
    file = descriptor_pb2.FileDescriptorProto(name="shop.proto", package="shop", syntax="proto3")
    order = file.message_type.add(name="Order")
    order.field.extend(
        [
            field("id", 1, F.TYPE_STRING),
            field("amount_cents", 2, F.TYPE_INT64),
            field("tags", 3, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".shop.Order.TagsEntry"),
            field("lines", 4, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".shop.Order.Line"),
        ]
    )
    entry = order.nested_type.add(name="TagsEntry")
    entry.field.extend([field("key", 1, F.TYPE_STRING), field("value", 2, F.TYPE_STRING)])
    entry.options.map_entry = True
    line = order.nested_type.add(name="Line")
    line.field.extend([field("sku", 1, F.TYPE_STRING), field("quantity", 2, F.TYPE_INT32)])
    refund = file.message_type.add(name="Refund")
    refund.field.extend(
        [field("order_id", 1, F.TYPE_STRING), field("reason", 2, F.TYPE_ENUM, type_name=".shop.Refund.Reason")]
    )
    reason = refund.enum_type.add(name="Reason")
    reason.value.add(name="UNKNOWN", number=0)
    reason.value.add(name="DAMAGED", number=1)
    return file


def main():
    brokers, registry_url, topic = sys.argv[1:4]
    pool = descriptor_pool.DescriptorPool()
    pool.Add(build_file())
    classes = {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
        for name in ("shop.Order", "shop.Order.Line", "shop.Refund")
    }
    registry = SchemaRegistryClient({"url": registry_url})
    producer = Producer({"bootstrap.servers": brokers, "acks": "all"})

    order = classes["shop.Order"](id="o-1", amount_cents=1234567890123)
    order.tags["channel"] = "web"
    order.lines.add(sku="sku-1", quantity=2)
    order.lines.add(sku="sku-2", quantity=1)
    records = [
        ("shop.Order", order),
        ("shop.Order.Line", classes["shop.Order.Line"](sku="sku-9", quantity=7)),
        ("shop.Refund", classes["shop.Refund"](order_id="o-1", reason=1)),
    ]
    for name, message in records:
        serializer = ProtobufSerializer(
            classes[name],
            registry,
            {"use.deprecated.format": False, "subject.name.strategy": topic_record_subject_name_strategy},
        )
        value = serializer(message, SerializationContext(topic, MessageField.VALUE))

        def report(error, record, name=name):
            if error is not None:
                print(json.dumps({"type": "error", "message": name, "error": str(error)}), flush=True)
            else:
                print(
                    json.dumps(
                        {"type": "delivered", "message": name, "partition": record.partition(), "offset": record.offset()}
                    ),
                    flush=True,
                )

        producer.produce(topic, value=value, on_delivery=report)
    remaining = producer.flush(30)
    print(json.dumps({"type": "done", "undelivered": remaining}), flush=True)


if __name__ == "__main__":
    main()
