import type { CodecContext } from '../codec.js';
import type { CodecErrorLocation } from '../errors.js';

/** The error location fields of a codec context. */
export function location(ctx: CodecContext | undefined): CodecErrorLocation {
  if (ctx === undefined) return {};
  return { topic: ctx.topic, partition: ctx.partition, offset: ctx.offset, role: ctx.role };
}
