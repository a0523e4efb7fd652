import { createHash } from 'node:crypto';

/** Namespace of medstream's FHIR resource ids: uuidv5(DNS namespace, 'fhir.medstream'). */
export const FHIR_ID_NAMESPACE = '65642a76-f9af-52f3-9ba8-6e27fe49adc7';

const parseUuid = (uuid: string): Buffer => {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new RangeError('not a UUID');
  return Buffer.from(hex, 'hex');
};

/** RFC 4122 version 5 UUID: SHA-1 of namespace bytes + name, version and variant bits set. */
export const uuidV5 = (name: string, namespace: string): string => {
  const hash = createHash('sha1').update(parseUuid(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/**
 * The id of the resource a mapping makes from one primary key. Deterministic, so a reload
 * replaces the document instead of duplicating it and a reference needs no lookup.
 */
export const deriveResourceId = (mappingId: string, primaryKey: string | number): string =>
  uuidV5(`${mappingId}/${String(primaryKey)}`, FHIR_ID_NAMESPACE);
