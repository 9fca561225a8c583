import protobufModule from 'protobufjs';

type Protobuf = typeof protobufModule;

/** protobufjs is CommonJS: it is `module.exports` or nested under `default`. */
const candidate = protobufModule as Protobuf & { default?: Protobuf };

/** The protobufjs library. */
export const protobuf: Protobuf = typeof candidate.parse === 'function' ? candidate : (candidate.default ?? candidate);

/** Fully-qualified names of every message type in `.proto` source, in declaration order. */
export function messageTypeNames(proto: string): string[] {
  const { root } = protobuf.parse(proto, { keepCase: true });
  const names: string[] = [];
  const walk = (namespace: protobufModule.NamespaceBase) => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) names.push(nested.fullName.slice(1));
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
    }
  };
  walk(root);
  return names;
}
