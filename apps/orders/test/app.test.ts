import { main, openTransport, parseNewOrder, runOrdersApp } from '@example/orders';
import { describe, expect, it } from 'vitest';

describe('orders app on the embedded in-memory broker', () => {
  it('places orders over HTTP, dead-letters the failing payments after retries, replays them, and every order ships', async () => {
    const lines: string[] = [];
    expect(await main(['--orders', '30'], (line) => lines.push(line))).toBe(0);
    expect(lines[0]).toMatch(
      /^orders: HTTP on http:\/\/127\.0\.0\.1:\d+, events on shop\.stream \(embedded in-memory broker\)$/,
    );
    expect(lines).toContain('orders: the gift-card provider is down; placing 30 orders (3 by gift card)');
    // 3 retries each before the dead-letter topic.
    expect(lines).toContain('orders: 27 shipped, 3 dead-lettered after 9 retries (last error: PAYMENT_PROVIDER_DOWN)');
    expect(lines).toContain('orders: the gift-card provider is back; replayed 3 dead letters');
    // 3 events per order; the 3 replayed OrderPlaced were already applied.
    expect(lines).toContain('orders: 30 shipped; projection applied 90 events, ignored 3 duplicates, 0 out of order');
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^orders: events: shop\.OrderPlaced 33, shop\.OrderPaid 30, shop\.OrderShipped 30; handling latency p50 \d/,
      ),
    );
    expect(lines.at(-1)).toMatch(/^orders: GET \/orders\/[\w-]+ -> shipped \(TRK-[\w-]+\)$/);
  });

  it('the report agrees with the output', async () => {
    await using transport = openTransport({ kind: 'memory' });
    const report = await runOrdersApp({ transport, orders: 10, giftcardEvery: 5, out: () => {} });
    expect(report).toEqual({ placed: 10, shipped: 10, deadLettered: 2, replayed: 2, retried: 6, outOfOrder: 0 });
  });

  it('bad arguments are one message and exit code 2', async () => {
    const lines: string[] = [];
    expect(await main(['--orders', '0', '--port', 'x'], (line) => lines.push(line))).toBe(2);
    expect(lines[0]).toMatch(/^orders: --orders must be a positive integer \(got "0"\); --port must be a port number/);
  });

  it('an order body with several problems lists all of them', () => {
    expect(parseNewOrder({ sku: '', quantity: 0, totalCents: 5, payment: 'cash' })).toEqual({
      problems: [
        'customerId: must be a non-empty string',
        'sku: must be a non-empty string',
        'quantity: must be an integer >= 1',
        'payment: must be one of card, giftcard',
      ],
    });
  });
});
