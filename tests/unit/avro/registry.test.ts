import { readSchemaId, writeWireFormat } from '../../../lib/avro/registry';

describe('Confluent wire format', () => {
  it('round-trips the schema id through the 5-byte header', () => {
    const framed = writeWireFormat(4242, Buffer.from([1, 2, 3]));
    expect([...framed.subarray(0, 5)]).toEqual([0, 0, 0, 0x10, 0x92]);
    expect(readSchemaId(framed)).toBe(4242);
  });

  it('rejects bytes without the magic byte as a non-retryable parse error', () => {
    expect(() => readSchemaId(Buffer.from('{"a":1}'))).toThrow(
      expect.objectContaining({ name: 'ParseError' }),
    );
  });

  it('rejects a buffer shorter than the header', () => {
    expect(() => readSchemaId(Buffer.from([0, 1]))).toThrow(/wire format/);
  });
});
