/**
 * The payload of a sequenced stream's message: `<seq>:<key>:<keySeq>:<padding>`. Both the subscriber under
 * test and the log auditor read it with this parser, which looks only at the message's own bytes and
 * rejects anything else, so a stray record on the stream's topic fails the scenario loudly instead of
 * being counted as NaN.
 */
const STREAM_PAYLOAD = /^(\d+):(\d+):(\d+):/;
/** Long enough for three 32-bit decimals and their separators. */
const HEADER_BYTES = 36;

/** A stream message's global sequence number, key index and per-key sequence number. */
export interface StreamIdentity {
  seq: number;
  key: number;
  keySeq: number;
}

/** Parses a stream payload; throws, naming the first bytes, when it is not one. */
export function parseStreamPayload(payload: Uint8Array): StreamIdentity {
  const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, HEADER_BYTES)).toString(
    'latin1',
  );
  const match = STREAM_PAYLOAD.exec(head);
  if (!match) throw new Error(`a record that is not the stream's on its topic: ${JSON.stringify(head.slice(0, 16))}`);
  return { seq: Number(match[1]), key: Number(match[2]), keySeq: Number(match[3]) };
}
