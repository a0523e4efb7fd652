import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { SchemaRegistrySettings } from './config';
import type { DecodedParts, RawRecord } from './event';

/** What the ESM needs from a registry: decode Confluent wire-format bytes and name the schema's format. */
export type SchemaDecoder = {
  decode(bytes: Buffer): Promise<unknown>;
  formatOf(schemaId: number): Promise<string>;
};

/** A decoder backed by a Confluent-compatible registry (Confluent, Apicurio's ccompat API, Redpanda...). */
export const createRegistryDecoder = (uri: string): SchemaDecoder => {
  const registry = new SchemaRegistry({ host: uri });
  const formats = new Map<number, string>();
  return {
    decode: (bytes) => registry.decode(bytes),
    formatOf: async (schemaId) => {
      const cached = formats.get(schemaId);
      if (cached) return cached;
      const response = await fetch(`${uri.replace(/\/$/, '')}/schemas/ids/${schemaId}`);
      if (!response.ok) throw new Error(`schema ${schemaId}: registry answered ${response.status}`);
      const body = (await response.json()) as { schemaType?: string };
      // The Confluent API omits schemaType for Avro.
      const format = body.schemaType ?? 'AVRO';
      formats.set(schemaId, format);
      return format;
    },
  };
};

export type RegistryResult = { ok: true; decoded: DecodedParts } | { ok: false; reason: string };

const MAGIC_BYTE = 0;
const HEADER_LENGTH = 5;

// JSON.stringify of decoded Avro: bigint longs and Buffers need a stable JSON form.
const toJson = (value: unknown): string =>
  JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? item.toString() : item));

const decodePart = async (
  bytes: Buffer | null,
  attribute: 'KEY' | 'VALUE',
  settings: SchemaRegistrySettings,
  decoder: SchemaDecoder,
): Promise<
  | { ok: true; data: string | null; metadata?: { dataFormat: string; schemaId: string } }
  | { ok: false; reason: string }
> => {
  // A tombstone or a record without a key has nothing to validate.
  if (bytes === null) return { ok: true, data: null };
  if (bytes.length < HEADER_LENGTH || bytes[0] !== MAGIC_BYTE) {
    return { ok: false, reason: `${attribute} is not in the schema registry wire format` };
  }
  const schemaId = bytes.readInt32BE(1);
  try {
    const decoded = await decoder.decode(bytes);
    const dataFormat = await decoder.formatOf(schemaId);
    const metadata = { dataFormat, schemaId: String(schemaId) };
    // JSON: the decoded record as JSON text; SOURCE: the original payload without the schema header.
    const data =
      settings.eventRecordFormat === 'JSON'
        ? Buffer.from(toJson(decoded)).toString('base64')
        : bytes.subarray(HEADER_LENGTH).toString('base64');
    return { ok: true, data, metadata };
  } catch (error) {
    return {
      ok: false,
      reason: `${attribute} failed schema validation: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
};

/**
 * Applies the ESM's schema registry integration to one record: validates the configured attributes
 * against the registry and rewrites them per EventRecordFormat, adding `keySchemaMetadata` /
 * `valueSchemaMetadata`. A record that fails validation is reported, not delivered.
 */
export const applySchemaRegistry = async (
  raw: RawRecord,
  settings: SchemaRegistrySettings,
  decoder: SchemaDecoder,
): Promise<RegistryResult> => {
  const decoded: DecodedParts = {};
  if (settings.validateKey) {
    const key = await decodePart(raw.key ?? null, 'KEY', settings, decoder);
    if (!key.ok) return key;
    if (key.data !== null) decoded.key = key.data;
    if (key.metadata) decoded.keySchemaMetadata = key.metadata;
  }
  if (settings.validateValue) {
    const value = await decodePart(raw.value, 'VALUE', settings, decoder);
    if (!value.ok) return value;
    decoded.value = value.data;
    if (value.metadata) decoded.valueSchemaMetadata = value.metadata;
  }
  return { ok: true, decoded };
};
