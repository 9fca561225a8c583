import protobufModule from 'protobufjs';

type Protobuf = typeof protobufModule;

/** protobufjs is CommonJS: find it as `module.exports` or nested under `default`, and fail clearly. */
function resolveProtobuf(): Protobuf {
  const candidate = protobufModule as Protobuf & { default?: Protobuf };
  const lib = typeof candidate.parse === 'function' ? candidate : candidate.default;
  if (lib === undefined || typeof lib.parse !== 'function') {
    throw new Error('@bus/codecs/protobuf needs the "protobufjs" package (>=7.4 <9): install it next to @bus/codecs');
  }
  return lib;
}

/** The protobufjs library. */
export const protobuf: Protobuf = resolveProtobuf();
