import { getOrder, openTransport, postOrder, startOrderService, waitUntil } from '@example/orders';
import { describe, expect, it } from 'vitest';

describe('the order service over HTTP (node:http), in memory', () => {
  it('POST /orders places an order that GET /orders/<id> then shows shipped; GET /orders counts by status', async () => {
    await using transport = openTransport({ kind: 'memory' });
    await using service = await startOrderService({ transport });
    const order = { customerId: 'c-9', sku: 'mug-blue', quantity: 3, totalCents: 2697, payment: 'card' } as const;
    const orderId = await postOrder(service.url, order);
    await waitUntil('the order to ship', async () => (await getOrder(service.url, orderId))?.status === 'shipped');
    const view = await getOrder(service.url, orderId);
    expect(view).toMatchObject({
      ...order,
      orderId,
      status: 'shipped',
      version: 3,
      trackingNumber: expect.any(String),
    });
    expect(view?.history.map((h) => h.status)).toEqual(['placed', 'paid', 'shipped']);
    const counts = await fetch(`${service.url}/orders`);
    expect(await counts.json()).toEqual({ placed: 0, paid: 0, shipped: 1 });
  });

  it('a bad body is 400 listing every problem, an unknown order 404, an unknown route 404', async () => {
    await using transport = openTransport({ kind: 'memory' });
    await using service = await startOrderService({ transport });
    const bad = await fetch(`${service.url}/orders`, {
      method: 'POST',
      body: JSON.stringify({ customerId: 'c', sku: 'x', quantity: 1.5, payment: 'cash' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'invalid order',
      problems: [
        'quantity: must be an integer >= 1',
        'totalCents: must be an integer >= 0',
        'payment: must be one of card, giftcard',
      ],
    });
    const notJson = await fetch(`${service.url}/orders`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    expect(await getOrder(service.url, 'no-such-order')).toBeUndefined();
    expect((await fetch(`${service.url}/nothing`)).status).toBe(404);
    // Nothing was sent for the bad requests.
    expect(service.metrics().processors.handled).toBe(0);
  });

  it('POST /payments/<method>/down makes those payments fail into the dead-letter topic; /up and a replay ship them', async () => {
    await using transport = openTransport({ kind: 'memory' });
    await using service = await startOrderService({ transport });
    const down = await fetch(`${service.url}/payments/giftcard/down`, { method: 'POST' });
    expect(await down.json()).toEqual({ payment: 'giftcard', provider: 'down' });
    const orderId = await postOrder(service.url, {
      customerId: 'c-1',
      sku: 'tea-green',
      quantity: 1,
      totalCents: 450,
      payment: 'giftcard',
    });
    await waitUntil('the payment to be dead-lettered', async () => (await service.deadLetterCount()) === 1);
    expect((await getOrder(service.url, orderId))?.status).toBe('placed');
    expect((await fetch(`${service.url}/payments/giftcard/up`, { method: 'POST' })).status).toBe(200);
    expect(await service.replayDeadLetters()).toBe(1);
    await waitUntil('the order to ship', async () => (await getOrder(service.url, orderId))?.status === 'shipped');
    // The letter stays in the topic (replay is a copy), and is not replayed a second time.
    expect(await service.deadLetterCount()).toBe(1);
    expect(await service.replayDeadLetters()).toBe(0);
    expect((await fetch(`${service.url}/payments/cash/down`, { method: 'POST' })).status).toBe(404);
  });
});
