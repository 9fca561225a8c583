import type { ConfigIssues } from '@bus/core';
import type { IConversionOptions, Root, Type } from 'protobufjs';
import { describeCause } from '../errors.js';
import { protobuf } from '../internal/protobufjs.js';

/** Where the message type comes from: exactly one of `proto`, `files` or `root`. */
export interface ProtobufSourceOptions {
  /** `.proto` source text. Required for use with the schema registry (it is what gets registered). */
  proto?: string;
  /** Paths of `.proto` files to load (synchronously, at construction). */
  files?: readonly string[];
  /** An already loaded protobufjs reflection root. */
  root?: Root;
  /** Fully-qualified message name, e.g. `shop.orders.OrderPlaced`; nested types as `Outer.Inner`. */
  typeName: string;
  /** Keep field names as written in the `.proto` (snake_case) instead of camelCase. Default `false`. */
  keepCase?: boolean;
  /**
   * How decoded messages become plain objects (protobufjs `toObject` options). Default:
   * `{ longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true }`:
   * 64-bit integers are decimal strings so no precision is lost.
   */
  toObject?: IConversionOptions;
}

/** Default `toObject` options: lossless longs, readable enums, defaults filled in. */
export const defaultToObject: IConversionOptions = Object.freeze({
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
});

/** Loads the root from exactly one source, recording problems in `issues`. */
export function loadRoot(options: ProtobufSourceOptions, issues: ConfigIssues): Root | undefined {
  const sources = [options.proto, options.files, options.root].filter((source) => source !== undefined);
  if (sources.length !== 1) {
    issues.add('proto', 'exactly one of proto, files or root is required');
    return undefined;
  }
  const parseOptions = { keepCase: options.keepCase === true };
  try {
    let root: Root;
    if (options.proto !== undefined) {
      if (typeof options.proto !== 'string') throw new Error('must be .proto source text');
      root = protobuf.parse(options.proto, parseOptions).root;
    } else if (options.files !== undefined) {
      root = new protobuf.Root().loadSync([...options.files], parseOptions);
    } else {
      root = options.root as Root;
    }
    // Resolve from the root: resolving a nested type alone fails on protobufjs editions metadata.
    root.resolveAll();
    return root;
  } catch (cause) {
    const path = options.proto !== undefined ? 'proto' : options.files !== undefined ? 'files' : 'root';
    issues.add(path, `could not be parsed: ${describeCause(cause)}`);
    return undefined;
  }
}

/** Looks up the message type, recording a problem when it is missing. */
export function lookupType(root: Root | undefined, typeName: unknown, issues: ConfigIssues): Type | undefined {
  if (typeof typeName !== 'string' || typeName.length === 0) {
    issues.add('typeName', 'must be a fully-qualified message name');
    return undefined;
  }
  if (root === undefined) return undefined;
  try {
    return root.lookupType(typeName);
  } catch (cause) {
    issues.add('typeName', `no message type "${typeName}": ${describeCause(cause)}`);
    return undefined;
  }
}

/**
 * Confluent message indexes of `type` inside its file: its position among the message types of
 * each enclosing scope, outermost first (enums and services do not count).
 */
export function messageIndexes(type: Type): number[] {
  const indexes: number[] = [];
  let current: Type = type;
  for (;;) {
    const parent = current.parent;
    if (parent === null) break;
    const siblings = parent.nestedArray.filter((nested) => nested instanceof protobuf.Type);
    indexes.unshift(siblings.indexOf(current));
    if (!(parent instanceof protobuf.Type)) break;
    current = parent;
  }
  return indexes;
}

/** The message type at `indexes` in the file whose top-level scope is `scope`, if there is one. */
export function typeAtIndexes(
  scope: { nestedArray: readonly unknown[] },
  indexes: readonly number[],
): Type | undefined {
  let current: { nestedArray: readonly unknown[] } = scope;
  let found: Type | undefined;
  for (const index of indexes) {
    const types = (current.nestedArray ?? []).filter((nested): nested is Type => nested instanceof protobuf.Type);
    found = types[index];
    if (found === undefined) return undefined;
    current = found;
  }
  return found;
}
