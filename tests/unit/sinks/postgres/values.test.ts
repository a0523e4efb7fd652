import { toConnectSchema } from '../../../../lib/sinks/postgres/connect-schema';
import { decimalToString, toCopyCell } from '../../../../lib/sinks/postgres/values';

const cell = (avro: unknown, value: unknown) => toCopyCell(toConnectSchema(avro as never), value);

describe('toCopyCell', () => {
  it('writes timestamp-millis as a UTC timestamp, from a number or a Date', () => {
    expect(cell({ type: 'long', logicalType: 'timestamp-millis' }, Date.UTC(2026, 10, 22, 23, 5, 1, 7))).toBe(
      '2026-11-22 23:05:01.007',
    );
    expect(cell({ type: 'long', logicalType: 'timestamp-millis' }, new Date(0))).toBe(
      '1970-01-01 00:00:00.000',
    );
  });

  it('writes date and time-millis', () => {
    expect(cell({ type: 'int', logicalType: 'date' }, 19_000)).toBe('2022-01-08');
    expect(cell({ type: 'int', logicalType: 'time-millis' }, 3_723_004)).toBe('01:02:03.004');
  });

  it('writes decimals exactly from two-complement bytes', () => {
    expect(decimalToString(Buffer.from([0x04, 0xd2]), 2)).toBe('12.34');
    expect(decimalToString(Buffer.from([0xfb, 0x2e]), 2)).toBe('-12.34');
    expect(decimalToString(Buffer.from([0x05]), 3)).toBe('0.005');
    expect(decimalToString(Buffer.from([0x7b]), 0)).toBe('123');
  });

  it('escapes COPY text and strips NUL like the PostgreSQL dialect', () => {
    expect(cell('string', 'a\tb\nc\\d\re\u0000f')).toBe('a\\tb\\nc\\\\d\\re' + 'f');
  });

  it('writes null as \\N, booleans as t/f, bytes as hex, numbers as text', () => {
    expect(cell(['null', 'int'], null)).toBe('\\N');
    expect(cell('boolean', false)).toBe('f');
    expect(cell('bytes', Buffer.from([1, 171]))).toBe('\\\\x01ab');
    expect(cell('double', Number.NaN)).toBe('NaN');
    expect(cell('long', 12_345_678_901)).toBe('12345678901');
  });

  it('writes primitive arrays as array literals', () => {
    expect(cell({ type: 'array', items: 'string' }, ['a', 'b"c', null])).toBe('{"a","b\\\\"c",NULL}');
  });
});
