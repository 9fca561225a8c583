import { createMessage, type Message } from '@bus/core';
import type { DefinitionKind, Draft } from '../definition.js';
import type { Envelope } from '../envelope.js';
import { envelopeHeaders } from '../cloudevents-headers.js';
import { CqrsError } from '../errors.js';
import type { TopicStrategy } from '../topics.js';
import { isThenable } from './thenable.js';

/** A draft turned into a message for its topic, with the envelope it carries. */
export interface Outgoing {
  readonly topic: string;
  readonly message: Message;
  readonly envelope: Envelope;
}

/** Checks at run time what the types promise, for JavaScript callers. */
export function assertDraft(
  value: unknown,
  kind: DefinitionKind,
  index: number,
): asserts value is Draft<DefinitionKind, string, unknown> {
  const definition = (value as Partial<Draft<DefinitionKind, string, unknown>> | null)?.definition;
  if (typeof value !== 'object' || value === null || definition?.kind !== kind) {
    throw new CqrsError(
      `${kind === 'event' ? 'publish' : 'send'}: item ${index} is not a new ${kind}; create it with ${kind === 'event' ? 'AnEvent' : 'ACommand'}.create(data, meta)`,
      { code: 'NOT_A_MESSAGE' },
    );
  }
}

/**
 * Builds the envelope of `draft` (caller-set fields first, then those inherited from `causedBy`:
 * the correlation id, tenant and actor, with the cause's id as causation id) and encodes its data.
 */
export function outgoing(
  draft: Draft<DefinitionKind, string, unknown>,
  source: string,
  topics: TopicStrategy,
  causedBy: Envelope | undefined,
): Outgoing | Promise<Outgoing> {
  const { definition, data, meta } = draft;
  const topic = topics({
    kind: definition.kind,
    name: definition.name,
    aggregateType: meta.aggregateType ?? definition.aggregateType,
  });
  const envelope: Envelope = {
    id: meta.id ?? crypto.randomUUID(),
    type: definition.name,
    version: definition.version,
    source,
    time: meta.time ?? new Date(),
    aggregateId: meta.aggregateId,
    aggregateType: meta.aggregateType ?? definition.aggregateType,
    aggregateVersion: meta.aggregateVersion,
    correlationId: meta.correlationId ?? causedBy?.correlationId ?? causedBy?.id,
    causationId: meta.causationId ?? causedBy?.id,
    tenant: meta.tenant ?? causedBy?.tenant,
    actor: meta.actor ?? causedBy?.actor,
    metadata: meta.metadata,
    contentType: definition.schema.contentType,
  };
  const headers = envelopeHeaders(envelope);
  // A synchronous codec (JSON, a cached registry schema) costs no promise per message. The key is
  // taken after encoding, so data the codec refuses fails with its typed error, not in a key function.
  const payload = definition.schema.encode(data, { topic, role: 'value', headers });
  return isThenable(payload)
    ? Promise.resolve(payload).then((bytes) => built(topic, envelope, headers, definition.keyOf(data, meta), bytes))
    : built(topic, envelope, headers, definition.keyOf(data, meta), payload);
}

function built(
  topic: string,
  envelope: Envelope,
  headers: Record<string, string>,
  key: string | undefined,
  payload: Uint8Array,
): Outgoing {
  const timestamp = envelope.time.getTime();
  const message =
    key === undefined
      ? createMessage({ id: envelope.id, payload, headers, timestamp })
      : createMessage({ id: envelope.id, payload, headers, key, timestamp });
  return { topic, message, envelope };
}

/** Every item, without a promise when none of them is one. */
export function settleAll(items: readonly (Outgoing | Promise<Outgoing>)[]): Outgoing[] | Promise<Outgoing[]> {
  return items.some(isThenable) ? Promise.all(items) : (items as Outgoing[]);
}

/** Publishes messages grouped by topic, one call per topic, so same-key messages keep their order. */
export function byTopic(items: readonly Outgoing[]): Map<string, Message[]> {
  const groups = new Map<string, Message[]>();
  for (const item of items) {
    const list = groups.get(item.topic);
    if (list === undefined) groups.set(item.topic, [item.message]);
    else list.push(item.message);
  }
  return groups;
}
