import type { AvroSchema } from '../../avro/registry';
import { SchemaError } from '../../errors';

/** Kafka Connect's schema types: what the AvroConverter turns an Avro schema into. */
export type ConnectType =
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FLOAT32'
  | 'FLOAT64'
  | 'BOOLEAN'
  | 'STRING'
  | 'BYTES'
  | 'ARRAY'
  | 'MAP'
  | 'STRUCT';

/** Connect's logical type names (schema `name`), as the JDBC sink dispatches on them. */
export const LOGICAL = {
  decimal: 'org.apache.kafka.connect.data.Decimal',
  date: 'org.apache.kafka.connect.data.Date',
  time: 'org.apache.kafka.connect.data.Time',
  timestamp: 'org.apache.kafka.connect.data.Timestamp',
} as const;

/** A field of a Connect Struct. */
export type ConnectField = { name: string; schema: ConnectSchema };

/** A Kafka Connect schema, as much of it as the JDBC sink reads. */
export type ConnectSchema = {
  type: ConnectType;
  /** A logical name (LOGICAL.*) or, for records, the Avro full name. */
  name?: string;
  optional: boolean;
  /** undefined: no default. null defaults count as none, as in Connect. */
  defaultValue?: unknown;
  /** Decimal scale/precision. */
  parameters?: { scale: number; precision?: number };
  valueSchema?: ConnectSchema;
  fields?: ConnectField[];
};

type AvroObject = Record<string, unknown>;

const PRIMITIVES: Record<string, ConnectType> = {
  int: 'INT32',
  long: 'INT64',
  float: 'FLOAT32',
  double: 'FLOAT64',
  boolean: 'BOOLEAN',
  string: 'STRING',
  bytes: 'BYTES',
};

const fullNameOf = (schema: AvroObject, namespace: string | undefined): string => {
  const name = String(schema.name);
  if (name.includes('.')) return name;
  const ns = typeof schema.namespace === 'string' ? schema.namespace : namespace;
  return ns ? `${ns}.${name}` : name;
};

type Context = { named: Map<string, ConnectSchema>; namespace: string | undefined };

const convert = (avro: AvroSchema, context: Context): ConnectSchema => {
  if (typeof avro === 'string') {
    if (avro === 'null') throw new SchemaError('a field of Avro type null alone has no column type');
    const primitive = PRIMITIVES[avro];
    if (primitive !== undefined) return { type: primitive, optional: false };
    const named =
      context.named.get(avro) ??
      (context.namespace ? context.named.get(`${context.namespace}.${avro}`) : undefined);
    if (named === undefined) throw new SchemaError(`unknown Avro type reference ${avro}`);
    return named;
  }
  if (Array.isArray(avro)) {
    const branches = avro as AvroSchema[];
    const nonNull = branches.filter((branch) => branch !== 'null');
    const [only] = nonNull;
    if (nonNull.length === 1 && branches.length === 2 && only !== undefined) {
      return { ...convert(only, context), optional: true };
    }
    // The AvroConverter turns other unions into a Struct, which the JDBC sink cannot map.
    return { type: 'STRUCT', name: 'io.confluent.connect.avro.Union', optional: branches.includes('null') };
  }
  const schema = avro as AvroObject;
  const logical = schema.logicalType;
  switch (schema.type) {
    case 'record': {
      const fullName = fullNameOf(schema, context.namespace);
      const inner: Context = {
        named: context.named,
        namespace: fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : undefined,
      };
      const struct: ConnectSchema = { type: 'STRUCT', name: fullName, optional: false, fields: [] };
      context.named.set(fullName, struct);
      for (const field of (schema.fields as AvroObject[]) ?? []) {
        const fieldSchema = convert(field.type as AvroSchema, inner);
        const withDefault =
          'default' in field && field.default !== null
            ? { ...fieldSchema, defaultValue: field.default }
            : fieldSchema;
        struct.fields?.push({ name: String(field.name), schema: withDefault });
      }
      return struct;
    }
    case 'enum': {
      const converted: ConnectSchema = { type: 'STRING', optional: false };
      context.named.set(fullNameOf(schema, context.namespace), converted);
      return converted;
    }
    case 'fixed': {
      const converted: ConnectSchema =
        logical === 'decimal'
          ? { type: 'BYTES', name: LOGICAL.decimal, optional: false, parameters: decimalParameters(schema) }
          : { type: 'BYTES', optional: false };
      context.named.set(fullNameOf(schema, context.namespace), converted);
      return converted;
    }
    case 'array':
      return { type: 'ARRAY', optional: false, valueSchema: convert(schema.items as AvroSchema, context) };
    case 'map':
      return { type: 'MAP', optional: false, valueSchema: convert(schema.values as AvroSchema, context) };
    case 'int':
      if (logical === 'date') return { type: 'INT32', name: LOGICAL.date, optional: false };
      if (logical === 'time-millis') return { type: 'INT32', name: LOGICAL.time, optional: false };
      // Connect sources mark their INT8/INT16 with connect.type, and the AvroConverter restores them.
      if (schema['connect.type'] === 'int8') return { type: 'INT8', optional: false };
      if (schema['connect.type'] === 'int16') return { type: 'INT16', optional: false };
      return { type: 'INT32', optional: false };
    case 'long':
      if (logical === 'timestamp-millis') return { type: 'INT64', name: LOGICAL.timestamp, optional: false };
      return { type: 'INT64', optional: false };
    case 'bytes':
      if (logical === 'decimal')
        return {
          type: 'BYTES',
          name: LOGICAL.decimal,
          optional: false,
          parameters: decimalParameters(schema),
        };
      return { type: 'BYTES', optional: false };
    default:
      return convert(schema.type as AvroSchema, context);
  }
};

const decimalParameters = (schema: AvroObject): { scale: number; precision?: number } => ({
  scale: typeof schema.scale === 'number' ? schema.scale : 0,
  ...(typeof schema.precision === 'number' ? { precision: schema.precision } : {}),
});

/** Converts an Avro schema (registry JSON) to the Connect schema the AvroConverter would produce. */
export const toConnectSchema = (avro: AvroSchema): ConnectSchema =>
  convert(avro, { named: new Map(), namespace: undefined });

/** Connect's `Schema.toString()`, used verbatim in the connector's error messages. */
export const describeConnectSchema = (schema: ConnectSchema): string =>
  schema.name !== undefined ? `Schema{${schema.name}:${schema.type}}` : `Schema{${schema.type}}`;
