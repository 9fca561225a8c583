import { SchemaRegistry } from '@bus/codecs/registry';
import {
  KafkaAdmin,
  type KafkaConfigFromSource,
  type KafkaConnectionOptions,
  kafkaConfigFromEnv,
  kafkaConfigFromUrl,
} from '@bus/kafka';
import { CliError, CliErrorCode } from './errors.js';
import type { CliIo } from './io.js';

/** Options every command accepts. */
export interface GlobalOptions {
  /** `kafka://[user:pass@]host:port[,host:port][?security=…&mechanism=…]`. */
  url?: string;
  /** Schema registry base URL. */
  registry?: string;
  /** One JSON document per line instead of tables and text. */
  json?: boolean;
  /** Stack traces on failure. */
  verbose?: boolean;
  /** Connection timeout in ms. */
  timeout?: string;
}

/**
 * What a command runs with: its I/O, the connection (resolved once, on first use) and the clients
 * it opened, closed when the command ends.
 */
export class CommandContext implements AsyncDisposable {
  readonly io: CliIo;
  readonly options: GlobalOptions;
  /** Passwords from the connection settings, masked in every error line. */
  readonly secrets: string[] = [];
  #connection: Promise<KafkaConnectionOptions> | undefined;
  #admin: KafkaAdmin | undefined;
  #registry: SchemaRegistry | undefined;
  readonly #closers: (() => Promise<void> | void)[] = [];

  constructor(io: CliIo, options: GlobalOptions) {
    this.io = io;
    this.options = options;
    this.#collectUrlSecrets(options.url);
    this.#collectUrlSecrets(options.registry ?? io.env.SCHEMA_REGISTRY_URL);
    const envPassword = io.env.KAFKA_SASL_PASSWORD ?? io.env.KAFKA__SASL_PASSWORD;
    if (envPassword) this.secrets.push(envPassword);
  }

  /** Whether `--json` was given. */
  get json(): boolean {
    return this.options.json === true;
  }

  /**
   * Kafka connection options: `--url`, else `KAFKA_URL`, else the `KAFKA_*` variables of
   * `kafkaConfigFromEnv` (`KAFKA_BOOTSTRAP_SERVERS`, …), else `KAFKA_BROKERS` (a host list).
   */
  connection(): Promise<KafkaConnectionOptions> {
    this.#connection ??= this.#resolveConnection();
    return this.#connection;
  }

  /** A `KafkaAdmin` on the connection, closed with the context. */
  async admin(): Promise<KafkaAdmin> {
    if (this.#admin === undefined) {
      this.#admin = new KafkaAdmin(await this.connection());
      const admin = this.#admin;
      this.onClose(() => admin.close());
    }
    return this.#admin;
  }

  /** The schema registry from `--registry` or `SCHEMA_REGISTRY_URL`; `CLI_NO_REGISTRY` when neither is set. */
  registry(): SchemaRegistry {
    const registry = this.optionalRegistry();
    if (registry === undefined) {
      throw new CliError(
        'No schema registry: pass --registry <url> or set SCHEMA_REGISTRY_URL',
        CliErrorCode.NO_REGISTRY,
      );
    }
    return registry;
  }

  /** The schema registry when one is configured. */
  optionalRegistry(): SchemaRegistry | undefined {
    const url = this.options.registry ?? this.io.env.SCHEMA_REGISTRY_URL;
    if (url === undefined || url === '') return undefined;
    if (this.#registry === undefined) {
      this.#registry = new SchemaRegistry({ url, timeoutMs: this.#timeoutMs() ?? 10_000 });
      const registry = this.#registry;
      this.onClose(() => registry.close());
    }
    return this.#registry;
  }

  /** Runs `close` when the command ends (last registered, first run). */
  onClose(close: () => Promise<void> | void): void {
    this.#closers.push(close);
  }

  /** Closes every client the command opened. */
  async close(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) {
      try {
        await close();
      } catch {
        // The command's outcome is already decided; a failed disconnect does not change it.
      }
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #resolveConnection(): Promise<KafkaConnectionOptions> {
    const env = this.io.env;
    let config: KafkaConfigFromSource;
    const url = this.options.url ?? env.KAFKA_URL;
    if (url !== undefined && url !== '') config = kafkaConfigFromUrl(url);
    else if (env.KAFKA_BOOTSTRAP_SERVERS || env.KAFKA__BOOTSTRAP_SERVERS) config = await kafkaConfigFromEnv({ env });
    else if (env.KAFKA_BROKERS) config = { brokers: env.KAFKA_BROKERS.split(',').map((b) => b.trim()) };
    else {
      throw new CliError(
        'No Kafka connection: pass --url kafka://host:port or set KAFKA_BOOTSTRAP_SERVERS (or KAFKA_URL)',
        CliErrorCode.NO_CONNECTION,
      );
    }
    const { groupId: _groupId, ...connection } = config as KafkaConfigFromSource & { autoOffsetReset?: string };
    delete (connection as { autoOffsetReset?: string }).autoOffsetReset;
    if (connection.sasl !== undefined && 'password' in connection.sasl) this.secrets.push(connection.sasl.password);
    const timeoutMs = this.#timeoutMs();
    // An operator's command should fail within seconds when the cluster is unreachable.
    return {
      clientId: 'bus-cli',
      ...connection,
      connectionTimeoutMs: Math.min(timeoutMs ?? 3_000, 30_000),
      requestTimeoutMs: timeoutMs ?? 30_000,
      retry: { retries: 2, initialRetryTimeMs: 200, maxRetryTimeMs: 2_000 },
    };
  }

  #timeoutMs(): number | undefined {
    if (this.options.timeout === undefined) return undefined;
    const value = Number(this.options.timeout);
    if (!Number.isInteger(value) || value < 1) {
      throw new CliError('--timeout must be a positive number of milliseconds', CliErrorCode.USAGE);
    }
    return value;
  }

  #collectUrlSecrets(url: string | undefined): void {
    if (url === undefined) return;
    const at = url.lastIndexOf('@');
    const scheme = url.indexOf('://');
    if (at < 0 || scheme < 0) return;
    const userInfo = url.slice(scheme + 3, at);
    const colon = userInfo.indexOf(':');
    if (colon < 0) return;
    const password = userInfo.slice(colon + 1);
    this.secrets.push(password);
    try {
      this.secrets.push(decodeURIComponent(password));
    } catch {
      // Not URL-encoded: the raw text is already masked.
    }
  }
}
