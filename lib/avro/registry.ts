import { COMPATIBILITY, SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { ParseError, SchemaError, UnavailableError } from '../errors';

/** An Avro schema as JSON (the registry's `schema` string, parsed). */
export type AvroSchema = Record<string, unknown> | string | unknown[];

export type DecodedAvro = { schemaId: number; schema: AvroSchema; value: unknown };

/** The Confluent-compatible registry port: what producers and sinks need of it. */
export type AvroRegistry = {
  /** Registers a schema under a subject (TopicNameStrategy: `<topic>-key` / `<topic>-value`); BACKWARD. */
  register(subject: string, schema: AvroSchema): Promise<number>;
  encode(schemaId: number, value: unknown): Promise<Buffer>;
  decode(buffer: Buffer): Promise<DecodedAvro>;
};

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

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

/**
 * A registry client on `@kafkajs/confluent-schema-registry` for registration (subject config,
 * compatibility) and on avsc for the hot path: schemas are fetched once per id and compiled once,
 * so decoding a record costs one avsc decode.
 */
export const createAvroRegistry = (url: string): AvroRegistry => {
  const client = new SchemaRegistry({ host: url });
  const byId = new Map<number, Promise<Compiled>>();

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
      entry.catch(() => byId.delete(schemaId));
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
    async decode(buffer) {
      const schemaId = readSchemaId(buffer);
      const { schema, type } = await compiled(schemaId);
      try {
        return { schemaId, schema, value: type.fromBuffer(buffer.subarray(HEADER_BYTES)) };
      } catch (cause) {
        throw new ParseError(`value does not match its writer schema ${schemaId}`, { cause });
      }
    },
  };
};
