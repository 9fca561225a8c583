// Stands in for @platformatic/kafka in bench/publish-cpu.bench.ts: it answers every send at once,
// for every partition sent to, and writes nothing, so the bench measures bus's own publish path.
// Only what the platformatic producer driver calls is here.

/** A murmur2-shaped pass over the key bytes (the real one costs about the same). */
export function murmur2(data: Buffer): number {
  let hash = 0x9747b28c ^ data.length;
  for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ data[i]!, 0x5bd1e995);
  return hash;
}

interface Sent {
  topic: string;
  partition: number;
}

export class Producer {
  async metadata(options: { topics: string[] }) {
    return { topics: new Map(options.topics.map((topic) => [topic, { partitionsCount: 6 }])) };
  }

  async send(options: { messages: Sent[] }) {
    const seen = new Set<number>();
    const offsets: { topic: string; partition: number; offset: bigint }[] = [];
    for (const { topic, partition } of options.messages) {
      if (seen.has(partition)) continue;
      seen.add(partition);
      offsets.push({ topic, partition, offset: 0n });
    }
    // Answers on a later turn of the event loop, as a socket would.
    await new Promise((resolve) => setImmediate(resolve));
    return { offsets };
  }

  async close() {}
}
