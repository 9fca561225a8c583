/**
 * The envelope of an event or command, carried as CloudEvents 1.0 attributes. Every field is readable
 * by any CloudEvents SDK through the Kafka binary-mode binding (see `cloudevents-headers.ts`).
 */
export interface Envelope {
  /** Unique id (`ce_id`), also the bus message id. */
  readonly id: string;
  /** Type name (`ce_type`). */
  readonly type: string;
  /** Schema version of the type (`ce_typeversion`; absent means 1). */
  readonly version: number;
  /** Who produced it, a URI reference (`ce_source`). */
  readonly source: string;
  /** When it happened (`ce_time`). */
  readonly time: Date;
  /** Id of the aggregate it is about: the CloudEvents subject (`ce_subject`). */
  readonly aggregateId?: string | undefined;
  /** Aggregate type (`ce_aggregatetype`). */
  readonly aggregateType?: string | undefined;
  /** Aggregate version after this event (`ce_aggregateversion`). */
  readonly aggregateVersion?: number | undefined;
  /** Correlation id (`ce_correlationid`). */
  readonly correlationId?: string | undefined;
  /** Id of the cause (`ce_causationid`). */
  readonly causationId?: string | undefined;
  /** Tenant (`ce_tenant`). */
  readonly tenant?: string | undefined;
  /** Actor (`ce_actor`). */
  readonly actor?: string | undefined;
  /** String metadata (`ce_metadata`, a JSON object). */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  /** MIME type of the payload (`content-type`), from the codec. */
  readonly contentType?: string | undefined;
}
