import type { Type } from 'avsc';

/** How Avro `long` values are represented: the `longs` option of the Avro codecs. */
export type AvroLongs = 'number' | 'bigint';

/**
 * The TypeScript type of the values an Avro schema describes, inferred from the schema written
 * `as const`: what `avroCodec` and `avroSchemaFormat` decode, and what they encode. The codecs
 * infer it themselves; name it to type your own functions.
 *
 * | Avro | TypeScript |
 * | --- | --- |
 * | `null`, `boolean`, `string` | `null`, `boolean`, `string` |
 * | `int`, `float`, `double` | `number` |
 * | `long` | `number`, or `bigint` when `Longs` is `'bigint'` |
 * | `bytes`, `fixed` | `Buffer` |
 * | `enum` | the union of its symbols, e.g. `'web' \| 'store'` |
 * | `array`, `map` | `T[]`, `Record<string, T>` |
 * | `record` | an object with one required property per field |
 * | union, e.g. `['null', 'string']` | `null \| string` |
 * | union of two records (or of any two branches of one JS kind) | `null` or `{ 'shop.A': A } \| { 'shop.B': B }` |
 * | `timestamp-millis`, `timestamp-micros`, `date` | `Date` |
 * | `uuid`, `decimal` | `string` (`decimal` as a lossless decimal string) |
 * | another logical type | its underlying type; `unknown` if named in `CustomLogicalTypes` |
 * | a named type referenced by name | that type, resolved in the enclosing namespace |
 *
 * A schema that is not a literal (JSON text, an avsc `Type`, an object typed `Schema`, a schema
 * written without `as const`) gives `unknown`; a reference to a name the schema does not
 * define gives `never`. Fields with defaults are still required: decoding always fills them in.
 *
 * @typeParam S - The schema, e.g. `typeof orderSchema`.
 * @typeParam Longs - The codec's `longs` option. Default `'number'`.
 * @typeParam CustomLogicalTypes - Names in the codec's `logicalTypes` option: values of those
 *   logical types are `unknown` (pass the codec an explicit type instead). Default none.
 *
 * @example
 * const orderSchema = {
 *   type: 'record',
 *   name: 'OrderPlaced',
 *   fields: [
 *     { name: 'orderId', type: { type: 'string', logicalType: 'uuid' } },
 *     { name: 'placedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
 *     { name: 'couponCode', type: ['null', 'string'], default: null },
 *   ],
 * } as const;
 * type OrderPlaced = AvroValue<typeof orderSchema>;
 * // { orderId: string; placedAt: Date; couponCode: string | null }
 */
export type AvroValue<S, Longs extends AvroLongs = 'number', CustomLogicalTypes extends string = never> = 0 extends 1 &
  S
  ? unknown
  : unknown extends S
    ? unknown
    : S extends Type
      ? unknown
      : S extends string
        ? S extends Primitive
          ? PrimitiveValue<S, { longs: Longs; custom: CustomLogicalTypes }>
          : unknown // schema text (JSON)
        : Value<S, NamedTypes<S, ''>, '', { longs: Longs; custom: CustomLogicalTypes }>;

type Primitive = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';

type PrimitiveValue<P extends Primitive, O extends Settings> = {
  null: null;
  boolean: boolean;
  int: number;
  long: LongValue<O['longs']>;
  float: number;
  double: number;
  bytes: Buffer;
  string: string;
}[P];

/** The codec options the value type depends on. */
interface Settings {
  longs: AvroLongs;
  /** Names of the caller's own logical types, whose values the type cannot know. */
  custom: string;
}

type LongValue<Longs extends AvroLongs> = Longs extends 'bigint' ? bigint : number;

// avsc matches a bigint long by value (an abstract type), like logical types: no bucket.
type LongBucket<Longs extends AvroLongs> = Longs extends 'bigint' ? never : 'number';

/** A named type (record, enum, fixed) found in the schema: its full name, schema and enclosing namespace. */
type Named = [fullName: string, schema: unknown, namespace: string];

type Value<S, Reg extends Named, NS extends string, O extends Settings> = unknown extends S
  ? unknown
  : S extends string
    ? string extends S
      ? unknown
      : S extends Primitive
        ? PrimitiveValue<S, O>
        : Reference<Reg, Qualify<S, NS>, O>
    : S extends readonly unknown[]
      ? UnionValue<S, Reg, NS, O>
      : S extends { readonly logicalType: infer Logical extends string }
        ? LogicalValue<S, Logical, Reg, NS, O>
        : Complex<S, Reg, NS, O>;

/**
 * avsc unwraps a union (the value is one branch's value) unless two branches fall in one
 * JavaScript bucket, e.g. two records: then each value but `null` is wrapped as
 * `{ [branch name]: value }`.
 */
type UnionValue<S extends readonly unknown[], Reg extends Named, NS extends string, O extends Settings> = Ambiguous<
  S,
  Reg,
  NS,
  O
> extends true
  ? WrappedBranch<S[number], Reg, NS, O>
  : Value<S[number], Reg, NS, O>;

type WrappedBranch<Branch, Reg extends Named, NS extends string, O extends Settings> = Branch extends 'null'
  ? null
  : { [Name in BranchName<Branch, NS>]: Value<Branch, Reg, NS, O> };

type Ambiguous<
  Branches extends readonly unknown[],
  Reg extends Named,
  NS extends string,
  O extends Settings,
  Seen extends string = never,
> = Branches extends readonly [infer Head, ...infer Tail]
  ? [Bucket<Head, Reg, NS, O>] extends [never]
    ? Ambiguous<Tail, Reg, NS, O, Seen> // logical types and bigint longs are matched by value, not bucketed
    : Bucket<Head, Reg, NS, O> extends Seen
      ? true
      : Ambiguous<Tail, Reg, NS, O, Seen | Bucket<Head, Reg, NS, O>>
  : false;

type Logicals = 'timestamp-millis' | 'timestamp-micros' | 'date' | 'uuid' | 'decimal';

type PrimitiveBucket<P extends Primitive, O extends Settings> = {
  null: 'null';
  boolean: 'boolean';
  int: 'number';
  long: LongBucket<O['longs']>;
  float: 'number';
  double: 'number';
  bytes: 'buffer';
  string: 'string';
}[P];

/** The JavaScript kind avsc files a union branch under (its `getTypeBucket`). */
type Bucket<Branch, Reg extends Named, NS extends string, O extends Settings> = Branch extends string
  ? Branch extends Primitive
    ? PrimitiveBucket<Branch, O>
    : Extract<Reg, [Qualify<Branch, NS>, unknown, string]> extends [string, infer Schema, infer Own extends string]
      ? Bucket<Schema, Reg, Own, O>
      : never
  : Branch extends { readonly logicalType: Logicals | O['custom'] }
    ? never
    : Branch extends { readonly type: infer Kind }
      ? Kind extends 'record' | 'error' | 'map'
        ? 'object'
        : Kind extends 'enum'
          ? 'string'
          : Kind extends 'fixed'
            ? 'buffer'
            : Kind extends 'array'
              ? 'array'
              : Bucket<Kind, Reg, NS, O>
      : never;

/** The key of a wrapped union value: a named type's full name, else the (underlying) type name. */
type BranchName<Branch, NS extends string> = Branch extends string
  ? Branch extends Primitive
    ? Branch
    : Qualify<Branch, NS>
  : Branch extends { readonly type: 'record' | 'error' | 'enum' | 'fixed'; readonly name: infer Name extends string }
    ? Qualify<Name, OwnNamespace<Branch, NS>>
    : Branch extends { readonly type: infer Kind extends string }
      ? Kind extends 'array' | 'map'
        ? Kind
        : BranchName<Kind, NS>
      : never;

type LogicalValue<S, Logical extends string, Reg extends Named, NS extends string, O extends Settings> = [
  Logical,
] extends [O['custom']]
  ? unknown // the caller's own implementation
  : [Logical] extends ['timestamp-millis' | 'timestamp-micros' | 'date']
    ? Date
    : [Logical] extends ['uuid']
      ? string
      : [Logical] extends ['decimal']
        ? S extends { readonly precision: number }
          ? string
          : Complex<S, Reg, NS, O> // invalid decimal: the underlying type, as avsc does
        : Complex<S, Reg, NS, O>; // a logical type the codec does not implement

type Complex<S, Reg extends Named, NS extends string, O extends Settings> = S extends {
  readonly type: infer Kind;
}
  ? string extends Kind
    ? unknown
    : Kind extends 'record' | 'error'
      ? RecordValue<S, Reg, OwnNamespace<S, NS>, O>
      : Kind extends 'enum'
        ? S extends { readonly symbols: readonly (infer Sym extends string)[] }
          ? string extends Sym
            ? string
            : Sym
          : unknown
        : Kind extends 'fixed'
          ? Buffer
          : Kind extends 'array'
            ? S extends { readonly items: infer Items }
              ? Value<Items, Reg, NS, O>[]
              : unknown
            : Kind extends 'map'
              ? S extends { readonly values: infer Values }
                ? Record<string, Value<Values, Reg, NS, O>>
                : unknown
              : Value<Kind, Reg, NS, O> // `{ type: 'int' }` or `{ type: 'shop.Money' }`
  : unknown;

type RecordValue<S, Reg extends Named, NS extends string, O extends Settings> = S extends {
  readonly fields: readonly (infer Field extends { readonly name: string; readonly type: unknown })[];
}
  ? string extends Field['name']
    ? unknown
    : { -readonly [F in Field as F['name']]: Value<F['type'], Reg, NS, O> }
  : unknown;

type Reference<Reg extends Named, FullName extends string, O extends Settings> = LookedUp<
  Extract<Reg, [FullName, unknown, string]>,
  Reg,
  O
>;

type LookedUp<Found, Reg extends Named, O extends Settings> = [Found] extends [never]
  ? never // avsc refuses the schema: "undefined type name"
  : Found extends [string, infer Schema, infer NS extends string]
    ? Value<Schema, Reg, NS, O>
    : never;

/** A reference without a dot names a type of the enclosing namespace (primitives excepted). */
type Qualify<Name extends string, NS extends string> = Name extends `${string}.${string}`
  ? Name
  : NS extends ''
    ? Name
    : `${NS}.${Name}`;

/** The namespace a named type defines its fields in: from a dotted name, its `namespace`, or the enclosing one. */
type OwnNamespace<S, NS extends string> = S extends { readonly name: `${string}.${string}` }
  ? BeforeLastDot<S['name']>
  : S extends { readonly namespace: infer Own extends string }
    ? Own
    : NS;

type BeforeLastDot<Name extends string, Done extends string = ''> = Name extends `${infer Head}.${infer Rest}`
  ? BeforeLastDot<Rest, Done extends '' ? Head : `${Done}.${Head}`>
  : Done;

/** Every named type defined anywhere in `S` (Avro names are unique within a schema). */
type NamedTypes<S, NS extends string> = S extends readonly unknown[]
  ? NamedTypes<S[number], NS>
  : S extends { readonly type: 'record' | 'error'; readonly name: infer Name extends string }
    ?
        | [Qualify<Name, OwnNamespace<S, NS>>, S, NS]
        | (S extends { readonly fields: readonly (infer Field)[] }
            ? Field extends { readonly type: infer FieldType }
              ? NamedTypes<FieldType, OwnNamespace<S, NS>>
              : never
            : never)
    : S extends { readonly type: 'enum' | 'fixed'; readonly name: infer Name extends string }
      ? [Qualify<Name, OwnNamespace<S, NS>>, S, NS]
      : S extends { readonly type: 'array'; readonly items: infer Items }
        ? NamedTypes<Items, NS>
        : S extends { readonly type: 'map'; readonly values: infer Values }
          ? NamedTypes<Values, NS>
          : never;
