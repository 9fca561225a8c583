import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.KafkaListenerErrorHandler;
import org.springframework.kafka.listener.KafkaMessageListenerContainer;
import org.springframework.kafka.requestreply.ReplyingKafkaTemplate;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.kafka.support.TopicPartitionOffset;
import org.springframework.messaging.handler.annotation.SendTo;
import org.springframework.messaging.support.MessageBuilder;

/**
 * The Spring Kafka peer of @bus/rpc's interop test (spring.int.test.ts), written the way a Spring
 * service would be, without Spring Boot. It reports JSON lines on stdout.
 *
 * <pre>
 *   serve &lt;brokers&gt; &lt;requestTopic&gt; &lt;group&gt;
 *       A @KafkaListener with a bare @SendTo (reply to the request's kafka_replyTopic) answering
 *       quotes {sku, qty} with {sku, total: qty * 4}. For sku "gone" it throws OutOfStock; its
 *       KafkaListenerErrorHandler replies in bus's error format (rpc-status, rpc-error-code, JSON body).
 *   call &lt;brokers&gt; &lt;requestTopic&gt; &lt;replyTopic&gt; &lt;group&gt; &lt;replyPartition or -1&gt;
 *       A ReplyingKafkaTemplate (binary correlation ids, the default) reading replies on replyTopic
 *       (on one assigned partition when replyPartition &gt;= 0, which it then names in
 *       kafka_replyPartition). Each stdin line {"id", "value"} becomes a request; its reply or error
 *       is printed. A reply with rpc-status "error" fails the future through the template's
 *       replyErrorChecker, as a Spring client of bus services would configure it.
 * </pre>
 */
public final class SpringPeer {
  static final ObjectMapper JSON = new ObjectMapper();

  static synchronized void emit(ObjectNode event) {
    System.out.println(event.toString());
    System.out.flush();
  }

  static ObjectNode event(String type) {
    return JSON.createObjectNode().put("type", type);
  }

  static String hex(Header header) {
    return header == null ? null : HexFormat.of().formatHex(header.value());
  }

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "serve" -> serve(args[1], args[2], args[3]);
      case "call" -> call(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]));
      default -> throw new IllegalArgumentException("mode must be serve or call");
    }
  }

  static Map<String, Object> consumerProps(String brokers, String group) {
    return Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
        ConsumerConfig.GROUP_ID_CONFIG, group,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
  }

  static ProducerFactory<String, String> producerFactory(String brokers) {
    return new DefaultKafkaProducerFactory<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
        ProducerConfig.LINGER_MS_CONFIG, 0,
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
  }

  // ---- serve: a replying @KafkaListener ----

  /** What the listener throws for an unknown sku: a business error with a code. */
  public static final class OutOfStock extends RuntimeException {
    OutOfStock(String sku) {
      super(sku + " is out of stock");
    }
  }

  public static class QuoteListener {
    @KafkaListener(id = "quote", topics = "${peer.topic}", groupId = "${peer.group}", errorHandler = "replyWithBusError")
    @SendTo
    public String quote(String request, @org.springframework.messaging.handler.annotation.Header(KafkaHeaders.CORRELATION_ID) byte[] correlation) throws Exception {
      JsonNode ask = JSON.readTree(request);
      emit(event("request").put("correlation", HexFormat.of().formatHex(correlation)));
      String sku = ask.get("sku").asText();
      if (sku.equals("gone")) throw new OutOfStock(sku);
      return JSON.createObjectNode().put("sku", sku).put("total", ask.get("qty").asInt() * 4).toString();
    }
  }

  @Configuration
  @EnableKafka
  public static class ServeConfig {
    @Bean
    public ConsumerFactory<String, String> consumerFactory() {
      return new DefaultKafkaConsumerFactory<>(consumerProps(System.getProperty("peer.brokers"), System.getProperty("peer.group")));
    }

    @Bean
    public KafkaTemplate<String, String> replyTemplate() {
      return new KafkaTemplate<>(producerFactory(System.getProperty("peer.brokers")));
    }

    @Bean
    public ConcurrentKafkaListenerContainerFactory<String, String> kafkaListenerContainerFactory(
        ConsumerFactory<String, String> consumerFactory, KafkaTemplate<String, String> replyTemplate) {
      var factory = new ConcurrentKafkaListenerContainerFactory<String, String>();
      factory.setConsumerFactory(consumerFactory);
      factory.setReplyTemplate(replyTemplate);
      factory.getContainerProperties().setConsumerRebalanceListener(new ConsumerAwareRebalanceListener() {
        @Override
        public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
          if (!partitions.isEmpty()) emit(event("assigned").put("partitions", partitions.size()));
        }
      });
      return factory;
    }

    /**
     * Spring has no error convention for replies: a listener that throws sends nothing unless its
     * error handler returns a reply. This one returns bus's error reply, so a bus client raises a
     * typed RemoteError with the code.
     */
    @Bean
    public KafkaListenerErrorHandler replyWithBusError() {
      return (message, exception) -> {
        Throwable cause = exception.getCause();
        boolean outOfStock = cause instanceof OutOfStock;
        String code = outOfStock ? "OUT_OF_STOCK" : "HANDLER_ERROR";
        String body = JSON.createObjectNode()
            .put("code", code)
            .put("message", cause == null ? exception.getMessage() : cause.getMessage())
            .put("isRetryable", outOfStock)
            .toString();
        return MessageBuilder.withPayload(body)
            .setHeader("rpc-status", "error".getBytes(StandardCharsets.UTF_8))
            .setHeader("rpc-error-code", code.getBytes(StandardCharsets.UTF_8))
            .build();
      };
    }

    @Bean
    public QuoteListener quoteListener() {
      return new QuoteListener();
    }
  }

  static void serve(String brokers, String topic, String group) throws Exception {
    System.setProperty("peer.brokers", brokers);
    System.setProperty("peer.topic", topic);
    System.setProperty("peer.group", group);
    try (var context = new AnnotationConfigApplicationContext(ServeConfig.class)) {
      emit(event("started"));
      // Runs until stdin closes or the test stops the process.
      while (System.in.read() != -1) {
        // Commands are not needed in this mode.
      }
    }
  }

  // ---- call: a ReplyingKafkaTemplate ----

  /** How a Spring client of bus services sees an error reply: code, message and retryability. */
  public static final class RemoteBusException extends RuntimeException {
    final String code;
    final boolean retryable;

    RemoteBusException(String code, String message, boolean retryable) {
      super(message);
      this.code = code;
      this.retryable = retryable;
    }
  }

  static Exception busErrorOf(ConsumerRecord<?, ?> record) {
    Header status = record.headers().lastHeader("rpc-status");
    if (status == null || !"error".equals(new String(status.value(), StandardCharsets.UTF_8))) return null;
    try {
      JsonNode body = JSON.readTree(String.valueOf(record.value()));
      return new RemoteBusException(body.path("code").asText("HANDLER_ERROR"), body.path("message").asText(),
          body.path("isRetryable").asBoolean(false));
    } catch (Exception e) {
      return new RemoteBusException("HANDLER_ERROR", String.valueOf(record.value()), false);
    }
  }

  static void call(String brokers, String topic, String replyTopic, String group, int replyPartition) throws Exception {
    ContainerProperties properties = replyPartition >= 0
        ? new ContainerProperties(new TopicPartitionOffset(replyTopic, replyPartition))
        : new ContainerProperties(replyTopic);
    properties.setGroupId(group);
    var container = new KafkaMessageListenerContainer<String, String>(
        new DefaultKafkaConsumerFactory<>(consumerProps(brokers, group)), properties);
    var template = new ReplyingKafkaTemplate<String, String, String>(producerFactory(brokers), container);
    template.setReplyErrorChecker(SpringPeer::busErrorOf);
    template.setDefaultReplyTimeout(Duration.ofSeconds(20));
    template.start();
    if (replyPartition < 0 && !template.waitForAssignment(Duration.ofSeconds(30))) {
      throw new IllegalStateException("reply container not assigned");
    }
    emit(event("ready"));
    var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      JsonNode command = JSON.readTree(line);
      String id = command.get("id").asText();
      var record = new ProducerRecord<String, String>(topic, command.get("value").toString());
      var future = template.sendAndReceive(record);
      // sendAndReceive added the correlation id (16 bytes of a UUID) and reply headers to the record.
      emit(event("sent").put("id", id).put("correlation", hex(record.headers().lastHeader(KafkaHeaders.CORRELATION_ID)))
          .put("replyPartition", hex(record.headers().lastHeader(KafkaHeaders.REPLY_PARTITION))));
      future.whenComplete((reply, error) -> {
        if (error == null) {
          try {
            emit(event("reply").put("id", id).put("partition", reply.partition())
                .put("correlation", hex(reply.headers().lastHeader(KafkaHeaders.CORRELATION_ID)))
                .set("value", JSON.readTree(reply.value())));
          } catch (Exception e) {
            emit(event("bad-reply").put("id", id).put("error", e.toString()));
          }
          return;
        }
        Throwable cause = error instanceof CompletionException || error instanceof ExecutionException
            ? error.getCause() : error;
        ObjectNode failed = event("error").put("id", id).put("exception", cause.getClass().getSimpleName())
            .put("message", cause.getMessage());
        if (cause instanceof RemoteBusException remote) {
          failed.put("code", remote.code).put("isRetryable", remote.retryable);
        }
        emit(failed);
      });
    }
    template.stop();
  }
}
