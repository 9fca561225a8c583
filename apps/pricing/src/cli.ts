import { parseArgs } from 'node:util';
import { runPricingApp } from './app.js';
import { startPricingService } from './service.js';
import { openTransport, transportSettings } from './transport.js';

/** Runs the app with command-line arguments; resolves with the exit code. */
export async function main(args: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      kafka: { type: 'boolean', default: false },
      requests: { type: 'string', default: '12' },
      prefix: { type: 'string', default: 'shop' },
      serve: { type: 'boolean', default: false },
    },
  });
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1) {
    out(`pricing: --requests must be a positive integer (got "${values.requests}")`);
    return 2;
  }
  await using transport = openTransport(transportSettings({ kafka: values.kafka }));
  if (values.serve) {
    const server = startPricingService({
      publisher: transport.publisher(),
      subscriber: transport.subscriber(),
      prefix: values.prefix,
    });
    out(`pricing: serving on the ${transport.description}; Ctrl-C stops`);
    await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
    await server.close();
    return 0;
  }
  await runPricingApp({ transport, prefix: values.prefix, requests, out });
  return 0;
}
