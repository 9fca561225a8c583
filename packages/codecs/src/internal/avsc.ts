import avscModule from 'avsc';

type Avsc = typeof avscModule;

/**
 * avsc is CommonJS: its default import is `module.exports`. Bundlers that wrap CJS differently
 * may nest it under `default`, so look in both places and fail clearly when it is missing.
 */
function resolveAvsc(): Avsc {
  const candidate = avscModule as Avsc & { default?: Avsc };
  const lib = typeof candidate.Type?.forSchema === 'function' ? candidate : candidate.default;
  if (lib === undefined || typeof lib.Type?.forSchema !== 'function') {
    throw new Error('@bus/codecs/avro needs the "avsc" package (>=5.7 <6): install it next to @bus/codecs');
  }
  return lib;
}

/** The avsc library. */
export const avsc: Avsc = resolveAvsc();
