import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** An append-only file of lines; `write` waits when the OS buffer is full (backpressure). */
export interface LineFile {
  readonly path: string;
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens `path` for appending lines. */
export function openLineFile(path: string): LineFile {
  const stream = createWriteStream(path, { flags: 'a' });
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure = error;
  });
  return {
    path,
    async write(line) {
      if (failure !== undefined) throw failure;
      if (!stream.write(`${line}\n`)) await once(stream, 'drain');
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
      }),
  };
}
