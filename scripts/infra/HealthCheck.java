import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;

/**
 * Readiness probe used by scripts/infra/infra.sh and tools/test-infra (dedicated brokers):
 * polls a broker until it answers a metadata request (describeCluster + listTopics) or the
 * deadline passes. Usage: java -cp 'libs/*:classes' HealthCheck <bootstrap> <timeoutMs>
 * Prints "ok <clusterId> <nodeCount>" and exits 0 when ready, prints the last error and exits 1 otherwise.
 */
public final class HealthCheck {
  public static void main(String[] args) throws Exception {
    String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:19092";
    long timeoutMs = args.length > 1 ? Long.parseLong(args[1]) : 60_000L;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    Throwable last = null;
    try (Admin admin = Admin.create(props)) {
      while (System.nanoTime() < deadline) {
        try {
          DescribeClusterResult cluster = admin.describeCluster();
          String clusterId = cluster.clusterId().get(5, TimeUnit.SECONDS);
          int nodes = cluster.nodes().get(5, TimeUnit.SECONDS).size();
          // A controller-backed metadata round trip: fails until the broker has caught up with the quorum.
          admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get(5, TimeUnit.SECONDS);
          if (nodes > 0) {
            System.out.println("ok " + clusterId + " " + nodes);
            return;
          }
        } catch (Exception e) {
          last = e;
        }
        Thread.sleep(200); // poll interval; the loop is bounded by the deadline
      }
    }
    System.out.println("not ready: " + (last == null ? "timeout" : last));
    System.exit(1);
  }
}
