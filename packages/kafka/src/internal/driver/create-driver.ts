import type { KafkaConnectionOptions } from '../../connection.js';
import { KafkajsDriver } from './kafkajs-driver.js';
import { PlatformaticDriver } from './platformatic-driver.js';
import type { KafkaDriver } from './types.js';

/**
 * The driver `options.driver` names (kafkajs by default), with its client created. Validates the
 * connection options first: a `ConfigError` lists every problem, named after `subject`.
 */
export function createDriver(options: KafkaConnectionOptions, subject: string): KafkaDriver {
  return options.driver === 'platformatic'
    ? new PlatformaticDriver(options, subject)
    : new KafkajsDriver(options, subject);
}
