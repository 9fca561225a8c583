import type * as Platformatic from '@platformatic/kafka';

/** How often a fetch in flight checks that its broker still leads every partition it asks for. */
const LEADER_CHECK_MS = 500;

/**
 * Watches one fetch request of the platformatic message stream while it is in flight, and calls
 * `moved` (once) when the client's metadata says that its broker no longer leads one of the
 * requested partitions of `topic`. Returns what stops the watch.
 *
 * Why: @platformatic/kafka 2.12 retries a failed fetch as one request. When the partitions it asks
 * for now have different leaders, the retry goes to the broker it was sent to at first, which
 * refuses it or is down, until the subscriber's retries run out (about a minute): those partitions
 * are not fetched meanwhile (the stream has one fetch per broker in flight). On the cluster, a
 * subscription resumed 59.9 s after two of three nodes died for 28.3 s. The session answers such
 * a fetch itself (nothing fetched), so the stream asks the current leaders at once.
 */
export function watchFetchLeaders(
  client: { readonly currentMetadata?: Platformatic.ClusterMetadata | undefined },
  topic: string,
  node: number | undefined,
  partitions: readonly number[],
  moved: () => void,
): () => void {
  if (node === undefined) return () => {};
  const timer = setInterval(() => {
    const leaders = client.currentMetadata?.topics.get(topic)?.partitions;
    if (leaders === undefined) return; // dropped until the next lookup: look again later
    for (const partition of partitions) {
      const leader = leaders[partition]?.leader;
      if (leader !== undefined && leader >= 0 && leader !== node) {
        clearInterval(timer);
        moved();
        return;
      }
    }
  }, LEADER_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
