import { ConfigIssues } from '../config.js';
import { childLogger } from '../logger.js';
import type { Message, Middleware, ReceivedMessage } from '../pubsub.js';

/** Default header carrying the correlation id. */
export const CORRELATION_ID_HEADER = 'correlation-id';

/** Options of {@link correlationId}. */
export interface CorrelationIdOptions {
  /** Header to read and write. Default `correlation-id`. */
  header?: string;
  /** Creates an id for messages that arrive without one. Default `crypto.randomUUID`. */
  generate?: () => string;
}

const assigned = new WeakMap<ReceivedMessage, string>();

/**
 * The correlation id of a message being handled under {@link correlationId}: its header, or the id the
 * middleware created for it. `undefined` outside that middleware when the header is absent.
 */
export function correlationIdOf(message: ReceivedMessage, header = CORRELATION_ID_HEADER): string | undefined {
  return assigned.get(message) ?? message.headers[header];
}

/**
 * Carries a correlation id from each consumed message to every message its handler returns, creating
 * one when the input has none, and binds it to the handler's logger (`correlationId`). Messages the
 * handler returns that already carry the header keep theirs.
 *
 * Trade-offs: only forwarded (returned) messages get the header automatically; messages the handler
 * publishes itself should copy {@link correlationIdOf}. Creating ids for uncorrelated input means two
 * deliveries of the same message may get different ids.
 * @throws {ConfigError} for invalid options, at construction.
 */
export function correlationId(options: CorrelationIdOptions = {}): Middleware {
  const issues = new ConfigIssues('correlationId');
  if (options.header !== undefined && (typeof options.header !== 'string' || options.header.length === 0)) {
    issues.add('header', 'must be a non-empty string');
  }
  if (options.generate !== undefined && typeof options.generate !== 'function')
    issues.add('generate', 'must be a function');
  issues.throwIfAny();
  const header = options.header ?? CORRELATION_ID_HEADER;
  const generate = options.generate ?? (() => crypto.randomUUID());

  return (next) => async (message, context) => {
    let id = message.headers[header];
    if (id === undefined || id.length === 0) {
      id = generate();
      assigned.set(message, id);
    }
    const output = await next(message, { ...context, logger: childLogger(context.logger, { correlationId: id }) });
    if (output === undefined || output.length === 0) return output;
    const correlation = id;
    return output.map(
      (out): Message => (out.headers[header] === undefined ? withHeader(out, header, correlation) : out),
    );
  };
}

function withHeader(message: Message, header: string, value: string): Message {
  return { ...message, headers: { ...message.headers, [header]: value } };
}
