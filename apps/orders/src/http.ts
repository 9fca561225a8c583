import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { PaymentMethod } from './messages.js';
import type { OrderProjection } from './projection.js';

/** An order as `POST /orders` accepts it; the service gives it its id. */
export interface NewOrder {
  customerId: string;
  sku: string;
  quantity: number;
  totalCents: number;
  payment: PaymentMethod;
}

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  projection: OrderProjection;
  /** Sends the `PlaceOrder` command; the HTTP answer waits for the send, not for the handling. */
  placeOrder: (order: NewOrder & { orderId: string }) => Promise<void>;
  /** Takes a payment provider down or brings it back (`POST /payments/<method>/down|up`), to try the failure path. */
  setOutage?: (method: PaymentMethod, down: boolean) => void;
  port: number;
  host: string;
}

/** The running HTTP endpoint. */
export interface HttpApi {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
/** A no-op until an OpenTelemetry SDK is started (see `tracing.ts`). */
const tracer = trace.getTracer('@example/orders');
const PAYMENT_METHODS: readonly string[] = ['card', 'giftcard'];

/** Every problem of a `POST /orders` body at once, or the order. */
export function parseNewOrder(body: unknown): { order: NewOrder } | { problems: string[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { problems: ['body: must be an object'] };
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  const text = (name: string) => {
    if (typeof b[name] !== 'string' || b[name] === '') problems.push(`${name}: must be a non-empty string`);
  };
  const count = (name: string, min: number) => {
    if (!Number.isSafeInteger(b[name]) || (b[name] as number) < min)
      problems.push(`${name}: must be an integer >= ${min}`);
  };
  text('customerId');
  text('sku');
  count('quantity', 1);
  count('totalCents', 0);
  if (!PAYMENT_METHODS.includes(b.payment as string))
    problems.push(`payment: must be one of ${PAYMENT_METHODS.join(', ')}`);
  if (problems.length > 0) return { problems };
  return {
    order: {
      customerId: b.customerId as string,
      sku: b.sku as string,
      quantity: b.quantity as number,
      totalCents: b.totalCents as number,
      payment: b.payment as PaymentMethod,
    },
  };
}

/**
 * `POST /orders` places an order (202 with its id; 400 listing every problem of the body),
 * `GET /orders/<id>` answers from the projection (404 until the order is projected),
 * `GET /orders` counts orders by status, `POST /payments/<method>/down|up` simulates a provider outage.
 * Plain `node:http`, no framework.
 */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const server = createServer((request, response) => {
    route(options, request, response).catch((error: unknown) => {
      send(response, 500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(options: HttpApiOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path === '/orders' && request.method === 'POST') {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(request));
    } catch (error) {
      send(response, 400, { error: error instanceof Error ? error.message : 'invalid JSON' });
      return;
    }
    const parsed = parseNewOrder(body);
    if ('problems' in parsed) {
      send(response, 400, { error: 'invalid order', problems: parsed.problems });
      return;
    }
    const orderId = randomUUID();
    const order = parsed.order;
    // The server span of the request: with tracing on, the command and every event it causes join its trace.
    await tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, async (span) => {
      span.setAttributes({ 'http.request.method': 'POST', 'http.route': '/orders', 'shop.order_id': orderId });
      try {
        await options.placeOrder({ ...order, orderId });
        span.setAttribute('http.response.status_code', 202);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    });
    send(response, 202, { orderId, status: `/orders/${orderId}` });
    return;
  }
  if (path === '/orders' && request.method === 'GET') {
    send(response, 200, options.projection.countByStatus());
    return;
  }
  const outage = /^\/payments\/([\w-]+)\/(down|up)$/.exec(path);
  if (outage?.[1] !== undefined && request.method === 'POST' && options.setOutage !== undefined) {
    if (!PAYMENT_METHODS.includes(outage[1])) {
      send(response, 404, { error: `no payment method ${outage[1]}` });
      return;
    }
    options.setOutage(outage[1] as PaymentMethod, outage[2] === 'down');
    send(response, 200, { payment: outage[1], provider: outage[2] });
    return;
  }
  const match = /^\/orders\/([\w-]+)$/.exec(path);
  if (match?.[1] !== undefined && request.method === 'GET') {
    const order = options.projection.get(match[1]);
    if (order === undefined) send(response, 404, { error: 'no such order (yet)' });
    else send(response, 200, order);
    return;
  }
  send(response, 404, { error: `no route for ${request.method} ${path}` });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
