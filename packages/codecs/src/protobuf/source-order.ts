import { protobuf } from '../internal/protobufjs.js';

/**
 * The nested message types of each message in `.proto` source, in the order protoc puts them in
 * the file's descriptor: declared messages and, for each `map` field, its synthetic `…Entry`
 * message, interleaved as they appear in the source. Confluent message indexes count positions in
 * that order, so serializers working from a compiled descriptor (Python, Go, .NET) agree with it.
 */
export interface SourceOrder {
  /** Top-level messages, in order. */
  readonly messages: readonly SourceMessage[];
}

/** A message of the source, with its nested entries in descriptor order. */
export interface SourceMessage {
  readonly name: string;
  /** Nested messages; a map field's entry has `mapEntry: true` and no protobufjs type of its own. */
  readonly nested: readonly SourceMessage[];
  readonly mapEntry?: boolean;
}

interface Scope {
  readonly message: { name: string; nested: SourceMessage[]; mapEntry?: boolean } | undefined;
}

/** Reads the message structure of `.proto` source; undefined when the tokens do not balance. */
export function sourceOrder(source: string): SourceOrder | undefined {
  const top: SourceMessage[] = [];
  const stack: Scope[] = [{ message: { name: '', nested: top } }];
  let tokens: ReturnType<typeof protobuf.tokenize>;
  try {
    tokens = protobuf.tokenize(source, false);
  } catch {
    return undefined;
  }
  const current = () => stack[stack.length - 1]?.message;
  try {
    for (let token = tokens.next(); token !== null; token = tokens.next()) {
      if (token === 'message' && tokens.peek() !== null && tokens.peek() !== '{') {
        const name = tokens.next() as string;
        if (tokens.peek() !== '{') continue;
        tokens.next();
        const message = { name, nested: [] as SourceMessage[] };
        current()?.nested.push(message);
        stack.push({ message });
      } else if (token === 'group' && current() !== undefined) {
        // proto2 `optional group Name = N { ... }` declares the nested message Name as well.
        const name = tokens.next();
        while (tokens.peek() !== null && tokens.peek() !== '{' && tokens.peek() !== ';') tokens.next();
        if (name === null || tokens.peek() !== '{') continue;
        tokens.next();
        const message = { name, nested: [] as SourceMessage[] };
        current()?.nested.push(message);
        stack.push({ message });
      } else if (token === 'map' && tokens.peek() === '<') {
        // map<K, V> name = N: the entry message is named after the field, in CamelCase, plus "Entry".
        while (tokens.peek() !== null && tokens.peek() !== '>') tokens.next();
        tokens.next();
        const field = tokens.next();
        if (field !== null) current()?.nested.push({ name: `${camel(field)}Entry`, nested: [], mapEntry: true });
      } else if (token === '{') {
        stack.push({ message: undefined });
      } else if (token === '}') {
        stack.pop();
        if (stack.length === 0) return undefined;
      }
    }
  } catch {
    return undefined;
  }
  return stack.length === 1 ? { messages: top } : undefined;
}

/** protoc's map entry name: the field name with `_x` as `X` and the first letter upper-cased. */
function camel(field: string): string {
  const joined = field.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/_/g, '');
  return joined.charAt(0).toUpperCase() + joined.slice(1);
}

/** The indexes of the message named by `path` (names from the file scope down), or undefined. */
export function indexesOf(order: SourceOrder, path: readonly string[]): number[] | undefined {
  const indexes: number[] = [];
  let scope: readonly SourceMessage[] = order.messages;
  for (const name of path) {
    const index = scope.findIndex((message) => message.name === name && message.mapEntry !== true);
    if (index < 0) return undefined;
    indexes.push(index);
    scope = (scope[index] as SourceMessage).nested;
  }
  return indexes;
}

/** The names from the file scope down to the message at `indexes`, or undefined (also for a map entry). */
export function pathAt(order: SourceOrder, indexes: readonly number[]): string[] | undefined {
  const names: string[] = [];
  let scope: readonly SourceMessage[] = order.messages;
  for (const index of indexes) {
    const message = scope[index];
    if (message === undefined || message.mapEntry === true) return undefined;
    names.push(message.name);
    scope = message.nested;
  }
  return names.length === 0 ? undefined : names;
}
