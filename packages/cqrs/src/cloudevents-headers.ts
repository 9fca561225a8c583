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
  /** The aggregate id: what the event is about. */
  aggregateId: 'ce_subject',
  contentType: 'content-type',
  version: 'ce_typeversion',
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

// Events of one publish are mostly made within the same millisecond: the last time's text is reused.
let lastTimeMs = Number.NaN;
let lastTimeText = '';

function isoTime(time: Date): string {
  const ms = time.getTime();
  if (ms !== lastTimeMs) {
    lastTimeText = time.toISOString();
    lastTimeMs = ms;
  }
  return lastTimeText;
}

/** The CloudEvents headers of `envelope`. */
export function envelopeHeaders(envelope: Envelope): Record<string, string> {
  // Written field by field: this runs for every published message.
  const headers: Record<string, string> = {
    ce_specversion: CLOUDEVENTS_SPEC_VERSION,
    ce_id: envelope.id,
    ce_type: envelope.type,
    ce_source: envelope.source,
    ce_time: isoTime(envelope.time),
  };
  // Absent means 1: the first version of a type costs no header.
  if (envelope.version !== 1) headers.ce_typeversion = String(envelope.version);
  if (envelope.aggregateId !== undefined) headers.ce_subject = envelope.aggregateId;
  if (envelope.contentType !== undefined) headers['content-type'] = envelope.contentType;
  if (envelope.aggregateType !== undefined) headers.ce_aggregatetype = envelope.aggregateType;
  if (envelope.aggregateVersion !== undefined) headers.ce_aggregateversion = String(envelope.aggregateVersion);
  if (envelope.correlationId !== undefined) headers.ce_correlationid = envelope.correlationId;
  if (envelope.causationId !== undefined) headers.ce_causationid = envelope.causationId;
  if (envelope.tenant !== undefined) headers.ce_tenant = envelope.tenant;
  if (envelope.actor !== undefined) headers.ce_actor = envelope.actor;
  if (envelope.metadata !== undefined) headers.ce_metadata = JSON.stringify(envelope.metadata);
  return headers;
}

// Events arrive in runs published within the same millisecond: the last text parsed is remembered.
let lastParsedText = '';
let lastParsedMs = Number.NaN;

/** A new Date (callers may keep it) of an RFC 3339 text; an invalid Date for invalid text. */
function parseTime(text: string): Date {
  if (text !== lastParsedText) {
    lastParsedMs = new Date(text).getTime();
    lastParsedText = text;
  }
  return new Date(lastParsedMs);
}

/** The CloudEvents type of a message, or undefined when it is not a CloudEvent. */
export function cloudEventType(headers: Readonly<Record<string, string>>): string | undefined {
  return headers[CloudEventHeaders.type];
}

/** Options of {@link envelopeFromHeaders}. */
export interface EnvelopeReadOptions {
  /**
   * The id when `ce_id` is absent: the transport's message id. A transport told to carry message ids
   * in `ce_id` (`messageIdHeader: 'ce_id'` in `@bus/kafka`) hands that header over as the id.
   */
  id?: string | undefined;
}

/**
 * Reads the envelope from CloudEvents binary-mode headers, as written by bus or any CloudEvents SDK.
 * @throws {CqrsError} `INVALID_ENVELOPE` naming every missing or malformed attribute.
 */
export function envelopeFromHeaders(
  headers: Readonly<Record<string, string>>,
  options: EnvelopeReadOptions = {},
): Envelope {
  const { ce_specversion: specVersion, ce_type: type, ce_source: source, ce_time: timeText } = headers;
  const id = headers.ce_id ?? options.id;
  const time = timeText === undefined ? new Date() : parseTime(timeText);
  const versionText = headers.ce_typeversion;
  const aggregateVersionText = headers.ce_aggregateversion;
  const metadataText = headers.ce_metadata;
  const metadata = metadataText === undefined ? undefined : parseMetadata(metadataText);
  const version = versionText === undefined ? 1 : integer(versionText);
  const aggregateVersion = aggregateVersionText === undefined ? undefined : integer(aggregateVersionText);
  if (
    specVersion !== CLOUDEVENTS_SPEC_VERSION ||
    !id ||
    !type ||
    !source ||
    Number.isNaN(time.getTime()) ||
    version === undefined ||
    (aggregateVersionText !== undefined && aggregateVersion === undefined) ||
    (metadataText !== undefined && metadata === undefined)
  ) {
    throw invalidEnvelope(headers, options);
  }
  // ce_time is optional in CloudEvents; an event without it is dated when read.
  return {
    id,
    type,
    version,
    source,
    time,
    aggregateId: headers.ce_subject,
    aggregateType: headers.ce_aggregatetype,
    aggregateVersion,
    correlationId: headers.ce_correlationid,
    causationId: headers.ce_causationid,
    tenant: headers.ce_tenant,
    actor: headers.ce_actor,
    metadata,
    contentType: headers['content-type'],
  };
}

/** The error naming every missing or malformed attribute; only built when something is wrong. */
function invalidEnvelope(headers: Readonly<Record<string, string>>, options: EnvelopeReadOptions): CqrsError {
  const h = CloudEventHeaders;
  const problems: string[] = [];
  const specVersion = headers[h.specVersion];
  if (!specVersion) problems.push(`${h.specVersion} is missing`);
  else if (specVersion !== CLOUDEVENTS_SPEC_VERSION) problems.push(`${h.specVersion} is not 1.0`);
  if (!headers[h.id] && !options.id) problems.push(`${h.id} is missing`);
  for (const name of [h.type, h.source]) if (!headers[name]) problems.push(`${name} is missing`);
  const timeText = headers[h.time];
  if (timeText !== undefined && Number.isNaN(new Date(timeText).getTime())) {
    problems.push(`${h.time} is not an RFC 3339 time`);
  }
  for (const name of [h.version, h.aggregateVersion]) {
    const text = headers[name];
    if (text !== undefined && integer(text) === undefined) problems.push(`${name} is not an integer`);
  }
  const metadataText = headers[h.metadata];
  if (metadataText !== undefined && parseMetadata(metadataText) === undefined) {
    problems.push(`${h.metadata} is not a JSON object of strings`);
  }
  const type = headers[h.type];
  return new CqrsError(`Not a valid CloudEvents envelope: ${problems.join('; ')}`, {
    code: 'INVALID_ENVELOPE',
    type: type ? type : undefined,
  });
}

function integer(text: string): number | undefined {
  const value = Number(text);
  return /^-?\d+$/.test(text) && Number.isSafeInteger(value) ? value : undefined;
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
