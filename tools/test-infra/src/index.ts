import { inject } from 'vitest';

/**
 * Connection settings of the real broker and registry that integration tests run against.
 * The global setup (`global-setup.ts`) resolves them once per run and passes them to test
 * workers through the `BUS_TEST_INFRA` environment variable (JSON of {@link TestInfra}).
 */
export interface TestInfra {
  /** Where the settings came from. */
  source: 'env' | 'testcontainers' | 'local-jvm';
  kafka: {
    /** PLAINTEXT bootstrap servers, e.g. `['127.0.0.1:19092']`. */
    brokers: string[];
    /** Broker version, e.g. `4.1.0`, when known. */
    version?: string;
    /** SASL_PLAINTEXT listener with PLAIN and SCRAM users, when the infra has one. */
    sasl?: {
      brokers: string[];
      plain: { username: string; password: string };
      scram512: { username: string; password: string };
      scram256?: { username: string; password: string };
    };
    /** SSL listener, with the CA (PEM) that signed the broker certificate; plus a client cert for mTLS when available. */
    ssl?: {
      brokers: string[];
      caPem: string;
      clientCertPem?: string;
      clientKeyPem?: string;
      /** Listener that requires a client certificate (mTLS), when the infra has one. */
      mtlsBrokers?: string[];
    };
    /**
     * Restarts the broker (stop, then start with the same data), for tests of broker loss.
     * Only the local JVM infra supports it: a shell command to run, or undefined.
     */
    restartCommand?: string;
  };
  registry: {
    /** Confluent-compatible base URL, e.g. `http://127.0.0.1:18081/apis/ccompat/v7`. */
    url: string;
    /** Registry product and version, e.g. `apicurio 3.0.9`, when known. */
    version?: string;
  };
}

/** The settings for this test run. Throws with an actionable message when the global setup did not run. */
export function testInfra(): TestInfra {
  const raw = process.env.BUS_TEST_INFRA || providedInfra();
  if (!raw) {
    throw new Error(
      'BUS_TEST_INFRA is not set: integration tests (*.int.test.ts) must run through a vitest project ' +
        'created with busProject({ integration: true }), whose global setup finds or starts Kafka and the registry.',
    );
  }
  return JSON.parse(raw) as TestInfra;
}

/** The settings the global setup provided through vitest's `provide`, when running inside a vitest worker. */
function providedInfra(): string | undefined {
  try {
    return inject('busTestInfra');
  } catch {
    return undefined;
  }
}

/** A topic or group name unique to this test run, so tests never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export {
  type DedicatedKafka,
  type DedicatedKafkaOptions,
  DedicatedKafkaUnavailableError,
  startDedicatedKafka,
} from './dedicated-kafka.ts';
export {
  type DedicatedRegistry,
  type DedicatedRegistryOptions,
  startDedicatedRegistry,
} from './dedicated-registry.ts';
export { type ReadmeBlock, type RunReadmeExampleOptions, readmeBlock, runReadmeExample } from './readme-example.ts';

declare module 'vitest' {
  interface ProvidedContext {
    /** JSON of {@link TestInfra}, provided by the global setup (fallback for `BUS_TEST_INFRA`). */
    busTestInfra: string;
  }
}
export {
  type ClusterConnection,
  type ClusterSetupInfo,
  runClusterCommand,
  type TestCluster,
  testCluster,
} from './cluster.ts';
export {
  PYTHON_REQUIREMENTS,
  type PythonEnv,
  type PythonEvent,
  type PythonScript,
  type PythonScriptOptions,
  PythonUnavailableError,
  pythonEnv,
  pythonScriptPath,
  startPythonScript,
} from './python.ts';
