import type { NewOrder } from './http.js';
import type { OrderView } from './projection.js';

/** Places an order through the service's HTTP endpoint; resolves with its id. */
export async function postOrder(baseUrl: string, order: NewOrder): Promise<string> {
  const response = await fetch(`${baseUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
  });
  const body = (await response.json()) as { orderId?: string; error?: string; problems?: string[] };
  if (response.status !== 202 || body.orderId === undefined) {
    throw new Error(
      `POST /orders answered ${response.status}: ${body.error ?? ''} ${(body.problems ?? []).join('; ')}`,
    );
  }
  return body.orderId;
}

/** Reads an order from the projection through the HTTP endpoint, or `undefined` (404). */
export async function getOrder(baseUrl: string, orderId: string): Promise<OrderView | undefined> {
  const response = await fetch(`${baseUrl}/orders/${encodeURIComponent(orderId)}`);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`GET /orders/${orderId} answered ${response.status}`);
  return (await response.json()) as OrderView;
}
