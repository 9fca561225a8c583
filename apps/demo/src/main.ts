// The demo's command: `node dist/main.js [--kafka] [--orders N] [--audit-log FILE]`.
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // One clear line; the stack only helps when debugging the app itself.
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.DEBUG) console.error(error);
    process.exitCode = 1;
  },
);
