import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditRecord, main } from '@example/audit';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'audit-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('audit app on the embedded in-memory broker', () => {
  it('writes one record per event of every type, replays marked, and prints the counts', async () => {
    const logPath = join(dir, 'audit.jsonl');
    const lines: string[] = [];
    expect(await main(['--orders', '20', '--log', logPath], (line) => lines.push(line))).toBe(0);
    expect(lines[0]).toBe(`audit: reading every event type of shop.stream, writing ${logPath}`);
    expect(lines).toContain(
      '  orders: 18 shipped, 2 dead-lettered after 6 retries (last error: PAYMENT_PROVIDER_DOWN)',
    );
    expect(lines.at(-1)).toBe(
      'audit: 62 records (shop.OrderPaid 20, shop.OrderPlaced 22, shop.OrderShipped 20), 2 of them replayed from the dead-letter topic',
    );

    const records = readFileSync(logPath, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    expect(records).toHaveLength(62);
    const placed = records.find((r) => r.type === 'shop.OrderPlaced' && r.replayedFrom === undefined);
    expect(placed).toMatchObject({
      topic: 'shop.stream',
      aggregateVersion: 1,
      source: 'urn:shop:orders',
      data: { orderId: placed?.aggregateId, payment: expect.stringMatching(/^(card|giftcard)$/) },
    });
    // A replayed event keeps its id: the log shows it twice, the second time with where it came from.
    const replays = records.filter((r) => r.replayedFrom !== undefined);
    expect(replays).toHaveLength(2);
    for (const replay of replays) {
      expect(replay.replayedFrom).toMatch(/^shop\.stream\.dlq\/\d+\/\d+$/);
      expect(records.filter((r) => r.id === replay.id)).toHaveLength(2);
      expect(replay.data).toMatchObject({ payment: 'giftcard' });
    }
    // Causation: every OrderShipped was caused by the OrderPaid of its order.
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const shipped of records.filter((r) => r.type === 'shop.OrderShipped')) {
      expect(byId.get(shipped.causationId ?? '')).toMatchObject({
        type: 'shop.OrderPaid',
        aggregateId: shipped.aggregateId,
      });
    }
  });

  it('a bad argument is one message and exit code 2', async () => {
    const lines: string[] = [];
    expect(await main(['--orders', '-3'], (line) => lines.push(line))).toBe(2);
    expect(lines[0]).toMatch(/^audit: /);
  });
});
