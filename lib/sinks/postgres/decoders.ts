import type { AvroRegistry } from '../../avro/registry';
import {
  type Decoder,
  type Decoders,
  encodedAvroDecoder,
  textDecoder,
  unreadDecoder,
} from '../../kafka/records';
import { PK_MODE, type PkMode } from './config';

/**
 * Keys are Avro when they carry the Confluent wire-format header, otherwise UTF-8 text (many
 * producers key by a plain string). A text key has no schema, so pk.mode record_key rejects it
 * with the connector's message while other pk modes do not need the key at all.
 */
export const keyDecoder = (registry: Pick<AvroRegistry, 'resolve'>): Decoder => {
  const avro = encodedAvroDecoder(registry);
  return (bytes) => (bytes.length >= 5 && bytes[0] === 0 ? avro(bytes) : textDecoder(bytes));
};

/**
 * The decoders a sink needs: Avro values with their writer schema, left encoded (the sink
 * transcodes them straight into COPY text); the key only under pk.mode record_key, which saves
 * reading it at all in every other mode.
 */
export const sinkDecoders = (registry: Pick<AvroRegistry, 'resolve'>, pkMode: PkMode): Decoders => ({
  key: pkMode === PK_MODE.recordKey ? keyDecoder(registry) : unreadDecoder,
  value: encodedAvroDecoder(registry),
});
