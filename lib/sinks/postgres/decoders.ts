import type { AvroRegistry } from '../../avro/registry';
import { avroDecoder, type Decoder, type Decoders, textDecoder } from '../../kafka/records';
import { PK_MODE, type PkMode } from './config';

/**
 * Keys are Avro when they carry the Confluent wire-format header, otherwise UTF-8 text (many
 * producers key by a plain string). A text key has no schema, so pk.mode record_key rejects it
 * with the connector's message while other pk modes do not need the key at all.
 */
export const keyDecoder = (registry: Pick<AvroRegistry, 'decode'>): Decoder => {
  const avro = avroDecoder(registry);
  return async (bytes) => (bytes.length >= 5 && bytes[0] === 0 ? avro(bytes) : textDecoder(bytes));
};

/** Leaves the key undecoded: only pk.mode record_key reads it. */
const unreadKey: Decoder = async () => ({ value: null });

/**
 * The decoders a sink needs: the value always as Avro; the key only under pk.mode record_key,
 * which saves one Avro decode per record on the hot path for every other mode.
 */
export const sinkDecoders = (registry: Pick<AvroRegistry, 'decode'>, pkMode: PkMode): Decoders => ({
  key: pkMode === PK_MODE.recordKey ? keyDecoder(registry) : unreadKey,
  value: avroDecoder(registry),
});
