import { createServer } from 'node:net';
import { BusError, ClosedError, createMessage, TimeoutError } from '@bus/core';
import { KafkaPublisher } from '@bus/kafka';
import { describe, expect, it } from 'vitest';

/** A loopback port that nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('KafkaPublisher.close() with an unreachable broker', () => {
  it('resolves within closeTimeoutMs after a publish timed out, though kafkajs is still retrying to connect', async () => {
    const publisher = new KafkaPublisher({
      brokers: `127.0.0.1:${await closedPort()}`,
      timeoutMs: 1_000,
      closeTimeoutMs: 1_000,
      retry: { retries: 10, initialRetryTimeMs: 300 },
    });
    const publish = publisher.publish('close-unreachable', createMessage({ payload: new Uint8Array(1) }));
    await expect(publish).rejects.toBeInstanceOf(TimeoutError);
    const started = performance.now();
    await publisher.close();
    console.log(`close() took ${Math.round(performance.now() - started)} ms after the publish timed out`);
    expect(publisher.stats().connected).toBe(false);
    await expect(
      publisher.publish('close-unreachable', createMessage({ payload: new Uint8Array(1) })),
    ).rejects.toThrow();
  }, 60_000);

  it('rejects a publish still waiting for the broker at closeTimeoutMs instead of waiting out its timeoutMs', async () => {
    const publisher = new KafkaPublisher({
      brokers: `127.0.0.1:${await closedPort()}`,
      timeoutMs: 600_000,
      closeTimeoutMs: 500,
      retry: { retries: 1_000, initialRetryTimeMs: 100, maxRetryTimeMs: 1_000 },
    });
    const outcome = publisher.publish('close-unreachable', createMessage({ payload: new Uint8Array(1) })).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const started = performance.now();
    await publisher.close();
    console.log(`close() with a publish outstanding took ${Math.round(performance.now() - started)} ms`);
    const error = await outcome;
    // Not sent yet (still connecting): withdrawn with a ClosedError; sent: outcome unknown, TimeoutError.
    expect(error instanceof ClosedError || error instanceof TimeoutError).toBe(true);
    expect(BusError.isInstance(error)).toBe(true);
  }, 60_000);
});
