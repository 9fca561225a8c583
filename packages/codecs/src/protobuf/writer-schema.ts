import { createRequire } from 'node:module';
import type { Root, Type } from 'protobufjs';
import type { CodecContext } from '../codec.js';
import { CodecError, describeCause } from '../errors.js';
import { location } from '../internal/location.js';
import { protobuf } from '../internal/protobufjs.js';
import { typeAtIndexes } from './message-type.js';
import { pathAt, sourceOrder } from './source-order.js';

/** A registered writer schema, parsed: finds the message that Confluent message indexes point at. */
export interface WriterSchema {
  /** The message type at `indexes`, or undefined when the indexes name no message. */
  typeAt(indexes: readonly number[]): Type | undefined;
}

/** The parts of a `FileDescriptorProto` that message indexes walk. */
interface MessageDescriptor {
  name?: string;
  nestedType?: MessageDescriptor[];
}
interface FileDescriptor {
  package?: string;
  dependency?: string[];
  messageType?: MessageDescriptor[];
}

interface DescriptorExtension {
  FileDescriptorProto: { decode(bytes: Uint8Array): unknown; toObject(message: unknown): FileDescriptor };
}

type RootWithDescriptors = typeof protobuf.Root & { fromDescriptor(set: unknown): Root };

// Standard base64, as Confluent serializers (Python, Go, .NET, JavaScript) register a schema they
// only have as a compiled descriptor. `.proto` text always has spaces, `;` or `{`, so never matches.
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses a writer schema from the registry. Confluent's registry and serializers use two forms:
 * `.proto` source text, or a base64 `FileDescriptorProto` (what Confluent's Python, Go and .NET
 * serializers register; the registry stores it as sent). Throws `UNSUPPORTED_SCHEMA` for anything
 * else, and for descriptors that import other files, which are not supported yet.
 */
export function parseWriterSchema(text: string, keepCase: boolean, ctx: CodecContext): WriterSchema {
  const compact = text.replace(/\s+/g, '');
  if (compact.length > 0 && compact.length % 4 === 0 && BASE64.test(compact)) {
    return descriptorSchema(compact, ctx);
  }
  try {
    const parsed = protobuf.parse(text, { keepCase });
    const scope =
      parsed.package === undefined
        ? parsed.root
        : (parsed.root.lookup(parsed.package) as unknown as { nestedArray: readonly unknown[] });
    const order = sourceOrder(text);
    if (order === undefined) return { typeAt: (indexes) => typeAtIndexes(scope, indexes) };
    const prefix = parsed.package === undefined ? '' : `${parsed.package}.`;
    return {
      typeAt(indexes) {
        const path = pathAt(order, indexes);
        if (path === undefined) return undefined;
        try {
          return parsed.root.lookupType(`${prefix}${path.join('.')}`);
        } catch {
          return undefined;
        }
      },
    };
  } catch (cause) {
    throw new CodecError(
      `Registered writer schema is neither .proto text nor a base64 FileDescriptorProto: ${describeCause(cause, 200)}`,
      { code: 'UNSUPPORTED_SCHEMA', cause, ...location(ctx) },
    );
  }
}

function descriptorSchema(base64: string, ctx: CodecContext): WriterSchema {
  const unloadable = (cause: unknown) =>
    new CodecError(
      `Registered writer schema looks like a base64 FileDescriptorProto but cannot be loaded: ${describeCause(cause, 200)}`,
      { code: 'UNSUPPORTED_SCHEMA', cause, ...location(ctx) },
    );
  let message: unknown;
  let file: FileDescriptor;
  try {
    const { FileDescriptorProto } = descriptorExtension();
    message = FileDescriptorProto.decode(Buffer.from(base64, 'base64'));
    file = FileDescriptorProto.toObject(message);
  } catch (cause) {
    throw unloadable(cause);
  }
  const imports = file.dependency ?? [];
  if (imports.length > 0) {
    throw new CodecError(
      `Registered writer schema imports ${imports.slice(0, 5).join(', ')}: protobuf schemas with references are not supported yet`,
      { code: 'UNSUPPORTED_SCHEMA', ...location(ctx) },
    );
  }
  let root: Root;
  try {
    root = (protobuf.Root as RootWithDescriptors).fromDescriptor({ file: [message] });
    root.resolveAll();
  } catch (cause) {
    throw unloadable(cause);
  }
  const prefix = file.package ? `${file.package}.` : '';
  return {
    // Walk the descriptor itself, not protobufjs' reflection of it: Confluent counts every nested
    // message of the descriptor, including the synthetic `…Entry` types of map fields.
    typeAt(indexes) {
      let scope: MessageDescriptor[] | undefined = file.messageType;
      const names: string[] = [];
      for (const index of indexes) {
        const message: MessageDescriptor | undefined = scope?.[index];
        if (message?.name === undefined) return undefined;
        names.push(message.name);
        scope = message.nestedType;
      }
      if (names.length === 0) return undefined;
      try {
        return root.lookupType(`${prefix}${names.join('.')}`);
      } catch {
        return undefined;
      }
    },
  };
}

let extension: DescriptorExtension | undefined;

/** protobufjs' descriptor extension, loaded on first use; it adds `Root.fromDescriptor`. */
function descriptorExtension(): DescriptorExtension {
  extension ??= createRequire(import.meta.url)('protobufjs/ext/descriptor') as DescriptorExtension;
  return extension;
}
