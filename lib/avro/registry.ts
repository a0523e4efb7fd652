import { COMPATIBILITY, SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { ParseError, SchemaError, UnavailableError } from '../errors';

/** An Avro schema as JSON (the registry's `schema` string, parsed). */
export type AvroSchema = Record<string, unknown> | string | unknown[];

export type DecodedAvro = { schemaId: number; schema: AvroSchema; value: unknown };

/**
 * An Avro datum left encoded: its writer schema is known, its body is not decoded until someone
 * asks. A sink that writes the bytes straight into COPY text never builds the JavaScript value.
 */
export class EncodedAvro {
  constructor(
    readonly schemaId: number,
    readonly schema: AvroSchema,
    /** The writer schema compiled by avsc (named types resolved). */
    readonly type: avro.Type,
    /** The whole wire-format record; the body starts at BODY_OFFSET. */
    readonly bytes: Buffer,
  ) {}

  /** The datum as a JavaScript value, as `AvroRegistry.decode` gives it. */
  decode(): unknown {
    try {
      return this.type.fromBuffer(this.bytes.subarray(HEADER_BYTES));
    } catch (cause) {
      throw new ParseError(`value does not match its writer schema ${this.schemaId}`, { cause });
    }
  }
}

/** The Confluent-compatible registry port: what producers and sinks need of it. */
export type AvroRegistry = {
  /** Registers a schema under a subject (TopicNameStrategy: `<topic>-key` / `<topic>-value`); BACKWARD. */
  register(subject: string, schema: AvroSchema): Promise<number>;
  encode(schemaId: number, value: unknown): Promise<Buffer>;
  /** Synchronous once the schema id has been fetched: the hot path of a sink awaits nothing. */
  decode(buffer: Buffer): DecodedAvro | Promise<DecodedAvro>;
  /** Reads the header and resolves the writer schema, leaving the body encoded (sync once known). */
  resolve(buffer: Buffer): EncodedAvro | Promise<EncodedAvro>;
};

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
/** Where the Avro body starts in a Confluent wire-format record. */
export const BODY_OFFSET = HEADER_BYTES;

/** Reads the Confluent wire-format header: magic byte 0, then the schema id as a big-endian int32. */
export const readSchemaId = (buffer: Buffer): number => {
  if (buffer.length < HEADER_BYTES || buffer[0] !== MAGIC_BYTE) {
    throw new ParseError('value is not in the Confluent wire format (magic byte 0 + schema id)');
  }
  return buffer.readInt32BE(1);
};

/** Prepends the Confluent wire-format header to an Avro body. */
export const writeWireFormat = (schemaId: number, body: Buffer): Buffer => {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
};

type Compiled = { schema: AvroSchema; type: avro.Type };

const isHttpStatus = (error: unknown, status: number): boolean =>
  typeof error === 'object' && error !== null && (error as { status?: number }).status === status;

const decodeWith = (schemaId: number, compiled: Compiled, buffer: Buffer): DecodedAvro => {
  const encoded = new EncodedAvro(schemaId, compiled.schema, compiled.type, buffer);
  return { schemaId, schema: compiled.schema, value: encoded.decode() };
};

/**
 * A registry client on `@kafkajs/confluent-schema-registry` for registration (subject config,
 * compatibility) and on avsc for the hot path: schemas are fetched once per id and compiled once,
 * so decoding a record costs one avsc decode.
 */
export const createAvroRegistry = (url: string): AvroRegistry => {
  const client = new SchemaRegistry({ host: url });
  const byId = new Map<number, Promise<Compiled>>();
  const ready = new Map<number, Compiled>();

  const fetchSchema = async (schemaId: number): Promise<Compiled> => {
    let response: Response;
    try {
      response = await fetch(`${url}/schemas/ids/${schemaId}`);
    } catch (cause) {
      throw new UnavailableError(`schema registry unreachable at ${url}`, { cause });
    }
    if (response.status === 404) throw new SchemaError(`schema id ${schemaId} is unknown to the registry`);
    if (!response.ok)
      throw new UnavailableError(`schema registry answered ${response.status} for schema ${schemaId}`);
    const body = (await response.json()) as { schema: string; schemaType?: string };
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new SchemaError(`schema id ${schemaId} is ${body.schemaType}, not Avro`);
    }
    const schema = JSON.parse(body.schema) as AvroSchema;
    return { schema, type: avro.Type.forSchema(schema as avro.Schema) };
  };

  const compiled = (schemaId: number): Promise<Compiled> => {
    let entry = byId.get(schemaId);
    if (entry === undefined) {
      entry = fetchSchema(schemaId);
      // A failed fetch is not cached: the next record tries again.
      entry.then(
        (done) => ready.set(schemaId, done),
        () => byId.delete(schemaId),
      );
      byId.set(schemaId, entry);
    }
    return entry;
  };

  return {
    async register(subject, schema) {
      try {
        const { id } = await client.register(
          { type: 'AVRO' as never, schema: JSON.stringify(schema) },
          { subject, compatibility: COMPATIBILITY.BACKWARD },
        );
        return id;
      } catch (cause) {
        if (isHttpStatus(cause, 409) || isHttpStatus(cause, 422)) {
          throw new SchemaError(`schema rejected for subject ${subject}: ${(cause as Error).message}`, {
            cause,
          });
        }
        throw new UnavailableError(`could not register a schema for subject ${subject}`, { cause });
      }
    },
    async encode(schemaId, value) {
      const { type } = await compiled(schemaId);
      return writeWireFormat(schemaId, type.toBuffer(value));
    },
    decode(buffer) {
      const schemaId = readSchemaId(buffer);
      const known = ready.get(schemaId);
      if (known !== undefined) return decodeWith(schemaId, known, buffer);
      return compiled(schemaId).then((fetched) => decodeWith(schemaId, fetched, buffer));
    },
    resolve(buffer) {
      const schemaId = readSchemaId(buffer);
      const known = ready.get(schemaId);
      if (known !== undefined) return new EncodedAvro(schemaId, known.schema, known.type, buffer);
      return compiled(schemaId).then(
        (fetched) => new EncodedAvro(schemaId, fetched.schema, fetched.type, buffer),
      );
    },
  };
};
