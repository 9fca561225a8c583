import type { KafkaConnectionOptions } from '../../connection.js';
import type { AdminDriver } from './admin-driver.js';
import { KafkajsAdmin } from './kafkajs-admin.js';
import { KafkajsDriver } from './kafkajs-driver.js';
import { PlatformaticAdmin } from './platformatic-admin.js';
import { PlatformaticDriver, validatedPlatformaticOptions } from './platformatic-driver.js';
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

/** The admin operations of the driver `options.driver` names, validated as {@link createDriver} does. */
export function createAdminDriver(options: KafkaConnectionOptions, subject: string): AdminDriver {
  return options.driver === 'platformatic'
    ? new PlatformaticAdmin(validatedPlatformaticOptions(options, subject))
    : new KafkajsAdmin(options, subject);
}
