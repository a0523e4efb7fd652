import {
  applySchemaRegistry,
  type SchemaDecoder,
} from '../../../../plugins/serverless-offline-kafka/src/schema-registry';

const wire = (schemaId: number, payload: Buffer): Buffer => {
  const header = Buffer.alloc(5);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, payload]);
};

// A registry that knows schema 7 (Avro) and decodes its payload as JSON text, for the test's sake.
const decoder: SchemaDecoder = {
  decode: async (bytes) => {
    if (bytes.readInt32BE(1) !== 7) throw new Error('schema not found');
    return JSON.parse(bytes.subarray(5).toString());
  },
  formatOf: async () => 'AVRO',
};

const raw = (value: Buffer | null, key: Buffer | null = null) => ({
  offset: '0',
  timestamp: '0',
  key,
  value,
});

describe('schema registry integration', () => {
  it('delivers the decoded value as JSON with its schema metadata (JSON format)', async () => {
    const result = await applySchemaRegistry(
      raw(wire(7, Buffer.from('{"hr":72}'))),
      { uri: 'x', eventRecordFormat: 'JSON', validateKey: false, validateValue: true },
      decoder,
    );
    expect(result).toEqual({
      ok: true,
      decoded: {
        value: Buffer.from('{"hr":72}').toString('base64'),
        valueSchemaMetadata: { dataFormat: 'AVRO', schemaId: '7' },
      },
    });
  });

  it('delivers the payload without the schema header (SOURCE format) and validates the key', async () => {
    const result = await applySchemaRegistry(
      raw(Buffer.from('plain'), wire(7, Buffer.from('"p-1"'))),
      { uri: 'x', eventRecordFormat: 'SOURCE', validateKey: true, validateValue: false },
      decoder,
    );
    expect(result).toEqual({
      ok: true,
      decoded: {
        key: Buffer.from('"p-1"').toString('base64'),
        keySchemaMetadata: { dataFormat: 'AVRO', schemaId: '7' },
      },
    });
  });

  it('rejects a value that is not in the wire format or whose schema is unknown', async () => {
    const settings = {
      uri: 'x',
      eventRecordFormat: 'JSON' as const,
      validateKey: false,
      validateValue: true,
    };
    expect(await applySchemaRegistry(raw(Buffer.from('plain text')), settings, decoder)).toEqual({
      ok: false,
      reason: 'VALUE is not in the schema registry wire format',
    });
    const unknown = await applySchemaRegistry(raw(wire(8, Buffer.from('{}'))), settings, decoder);
    expect(unknown).toEqual({ ok: false, reason: 'VALUE failed schema validation: schema not found' });
  });

  it('lets a tombstone through', async () => {
    const result = await applySchemaRegistry(
      raw(null),
      { uri: 'x', eventRecordFormat: 'JSON', validateKey: false, validateValue: true },
      decoder,
    );
    expect(result).toEqual({ ok: true, decoded: { value: null } });
  });
});
