// @platformatic/kafka reports failures as GenericError subclasses with a `PLT_KFK_*` code; a
// broker's refusal is a ProtocolError whose `apiId` is Kafka's error name (the same names kafkajs
// puts in `type`), and retries that ran out wrap every attempt's error in a MultipleErrors. This
// turns them into the few facts `toKafkaError` classifies by, so both drivers map to the same codes.

/** A platformatic error reduced to what the classification needs. */
export interface PlatformaticErrorShape {
  /** What kind of failure, in the terms `toKafkaError` uses for both drivers. */
  readonly kind: 'connection' | 'timeout' | 'authentication' | 'client' | 'broker';
  /** Kafka's error name (`MESSAGE_TOO_LARGE`, ...) for a broker's refusal, else ''. */
  readonly type: string;
  /** The error whose message explains the failure. */
  readonly root: { readonly message?: unknown };
  readonly retriable: boolean;
}

interface PlatformaticLike {
  code?: unknown;
  apiId?: unknown;
  canRetry?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
}

function isPlatformatic(error: unknown): error is PlatformaticLike {
  const code = (error as PlatformaticLike | null)?.code;
  return typeof code === 'string' && code.startsWith('PLT_KFK_');
}

/** The innermost errors of `error`: MultipleErrors are flattened, causes followed. */
function leaves(error: PlatformaticLike, into: PlatformaticLike[], depth = 0): PlatformaticLike[] {
  if (depth > 8) return into;
  if (Array.isArray(error.errors) && error.errors.length > 0) {
    for (const inner of error.errors) if (isPlatformatic(inner)) leaves(inner, into, depth + 1);
    return into;
  }
  if (isPlatformatic(error.cause) && error.code !== 'PLT_KFK_PROTOCOL') return leaves(error.cause, into, depth + 1);
  into.push(error);
  return into;
}

/**
 * Broker refusals that mean a partition's leader moved or is being elected. kafkajs meets a leader
 * move as a lost connection to the old leader (`KAFKA_CONNECTION_FAILED`); this client meets the
 * same move as these refusals from the brokers that stayed, so they map to a connection failure too.
 */
const LEADER_MOVED = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
]);

const KIND_BY_CODE: Record<string, PlatformaticErrorShape['kind']> = {
  PLT_KFK_NETWORK: 'connection',
  PLT_KFK_TIMEOUT: 'timeout',
  PLT_KFK_AUTHENTICATION: 'authentication',
  PLT_KFK_PROTOCOL: 'broker',
};

/**
 * The shape of a @platformatic/kafka error, or `undefined` for any other error. Among several
 * attempts' errors the most telling wins: a broker's refusal, then authentication, then the last.
 */
export function platformaticErrorShape(error: unknown): PlatformaticErrorShape | undefined {
  if (!isPlatformatic(error)) return undefined;
  const all = leaves(error, []);
  const chosen =
    all.find((e) => typeof e.apiId === 'string') ??
    all.find((e) => e.code === 'PLT_KFK_AUTHENTICATION') ??
    all.at(-1) ??
    error;
  // The client's metadata lookup reports a topic the broker does not know as a UserError.
  const unknownTopic = chosen.code === 'PLT_KFK_USER' && /^Unknown topic /.test(String(chosen.message));
  // A fetch aimed at a leader that left the cluster (killed, restarting): the client's refreshed
  // metadata no longer lists it, and it reports that as a non-retryable UserError. It is a lost
  // broker, gone once the leadership moved: a connection failure, retryable.
  const lostBroker = chosen.code === 'PLT_KFK_USER' && /^Cannot find broker with node id /.test(String(chosen.message));
  const leaderMoved = typeof chosen.apiId === 'string' && LEADER_MOVED.has(chosen.apiId);
  const kind = lostBroker || leaderMoved ? 'connection' : (KIND_BY_CODE[String(chosen.code)] ?? 'client');
  const type = typeof chosen.apiId === 'string' ? chosen.apiId : unknownTopic ? 'UNKNOWN_TOPIC_OR_PARTITION' : '';
  return { kind, type, root: chosen, retriable: lostBroker || all.every((e) => e.canRetry !== false) };
}

/**
 * Reaches a broker through `lookup` (a metadata request without the client's own retries),
 * retrying up to `retries` times with `delay` between attempts, as kafkajs's connect does, but
 * giving up at once on a refused authentication (the client would retry it).
 */
export async function connectWithRetry(
  lookup: () => Promise<unknown>,
  retries: number,
  delay: (attempt: number) => number,
  closed: () => boolean,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await lookup();
      return;
    } catch (error) {
      const shape = platformaticErrorShape(error);
      if (attempt >= retries || closed() || shape?.kind === 'authentication' || shape?.retriable === false) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay(attempt + 1)));
    }
  }
}
