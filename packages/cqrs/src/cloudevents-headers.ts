import type { Envelope } from './envelope.js';
import { CqrsError } from './errors.js';

/**
 * Kafka header names of the envelope, per the CloudEvents 1.0 Kafka protocol binding in binary mode:
 * `ce_` plus the attribute name; extension names are lowercase letters and digits only.
 */
export const CloudEventHeaders = Object.freeze({
  specVersion: 'ce_specversion',
  id: 'ce_id',
  type: 'ce_type',
  source: 'ce_source',
  time: 'ce_time',
  subject: 'ce_subject',
  contentType: 'content-type',
  version: 'ce_typeversion',
  aggregateId: 'ce_aggregateid',
  aggregateType: 'ce_aggregatetype',
  aggregateVersion: 'ce_aggregateversion',
  correlationId: 'ce_correlationid',
  causationId: 'ce_causationid',
  tenant: 'ce_tenant',
  actor: 'ce_actor',
  metadata: 'ce_metadata',
} as const);

/** The CloudEvents version bus writes. */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';

/** The CloudEvents headers of `envelope`. */
export function envelopeHeaders(envelope: Envelope): Record<string, string> {
  const h = CloudEventHeaders;
  const headers: Record<string, string> = {
    [h.specVersion]: CLOUDEVENTS_SPEC_VERSION,
    [h.id]: envelope.id,
    [h.type]: envelope.type,
    [h.source]: envelope.source,
    [h.time]: envelope.time.toISOString(),
    [h.version]: String(envelope.version),
  };
  const optional: [string, string | number | undefined][] = [
    [h.subject, envelope.subject],
    [h.contentType, envelope.contentType],
    [h.aggregateId, envelope.aggregateId],
    [h.aggregateType, envelope.aggregateType],
    [h.aggregateVersion, envelope.aggregateVersion],
    [h.correlationId, envelope.correlationId],
    [h.causationId, envelope.causationId],
    [h.tenant, envelope.tenant],
    [h.actor, envelope.actor],
  ];
  for (const [name, value] of optional) if (value !== undefined) headers[name] = String(value);
  if (envelope.metadata !== undefined) headers[h.metadata] = JSON.stringify(envelope.metadata);
  return headers;
}

/** The CloudEvents type of a message, or undefined when it is not a CloudEvent. */
export function cloudEventType(headers: Readonly<Record<string, string>>): string | undefined {
  return headers[CloudEventHeaders.type];
}

/**
 * Reads the envelope from CloudEvents binary-mode headers, as written by bus or any CloudEvents SDK.
 * @throws {CqrsError} `INVALID_ENVELOPE` naming every missing or malformed attribute.
 */
export function envelopeFromHeaders(headers: Readonly<Record<string, string>>): Envelope {
  const h = CloudEventHeaders;
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = headers[name];
    if (value === undefined || value === '') problems.push(`${name} is missing`);
    return value ?? '';
  };
  const specVersion = required(h.specVersion);
  if (specVersion !== '' && specVersion !== CLOUDEVENTS_SPEC_VERSION) problems.push(`${h.specVersion} is not 1.0`);
  const id = required(h.id);
  const type = required(h.type);
  const source = required(h.source);
  const timeText = headers[h.time];
  const time = timeText === undefined ? new Date(Number.NaN) : new Date(timeText);
  if (timeText !== undefined && Number.isNaN(time.getTime())) problems.push(`${h.time} is not an RFC 3339 time`);
  const version = integerHeader(headers, h.version, problems) ?? 1;
  const aggregateVersion = integerHeader(headers, h.aggregateVersion, problems);
  let metadata: Record<string, string> | undefined;
  const metadataText = headers[h.metadata];
  if (metadataText !== undefined) {
    metadata = parseMetadata(metadataText);
    if (metadata === undefined) problems.push(`${h.metadata} is not a JSON object of strings`);
  }
  if (problems.length > 0) {
    throw new CqrsError(`Not a valid CloudEvents envelope: ${problems.join('; ')}`, {
      code: 'INVALID_ENVELOPE',
      type: type === '' ? undefined : type,
    });
  }
  return {
    id,
    type,
    version,
    source,
    // ce_time is optional in CloudEvents; an event without it is dated when read.
    time: timeText === undefined ? new Date() : time,
    subject: headers[h.subject],
    aggregateId: headers[h.aggregateId],
    aggregateType: headers[h.aggregateType],
    aggregateVersion,
    correlationId: headers[h.correlationId],
    causationId: headers[h.causationId],
    tenant: headers[h.tenant],
    actor: headers[h.actor],
    metadata,
    contentType: headers[h.contentType],
  };
}

function integerHeader(
  headers: Readonly<Record<string, string>>,
  name: string,
  problems: string[],
): number | undefined {
  const text = headers[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    problems.push(`${name} is not an integer`);
    return undefined;
  }
  return value;
}

function parseMetadata(text: string): Record<string, string> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const entries = Object.entries(parsed);
    if (!entries.every(([, v]) => typeof v === 'string')) return undefined;
    return Object.fromEntries(entries) as Record<string, string>;
  } catch {
    return undefined;
  }
}
