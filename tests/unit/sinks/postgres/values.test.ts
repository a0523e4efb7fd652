import { createSeededRandom } from '../../../../lib/random';
import { toConnectSchema } from '../../../../lib/sinks/postgres/connect-schema';
import {
  copyCellWriterFor,
  decimalToString,
  formatTimestamp,
  toCopyCell,
} from '../../../../lib/sinks/postgres/values';

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

describe('formatTimestamp', () => {
  const viaIso = (millis: number) => {
    const iso = new Date(millis).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  };

  it('equals the ISO form for instants across days, years and the edges of its fast range', () => {
    const random = createSeededRandom(11);
    const instants = [
      0,
      1,
      86_399_999,
      86_400_000,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10_000, 0, 1),
      -1,
      -86_400_001,
      1.5,
    ];
    for (let index = 0; index < 2000; index += 1) instants.push(Math.floor(random() * 4e12) - 1e12);
    for (const millis of instants) expect(formatTimestamp(millis)).toBe(viaIso(millis));
  });
});

describe('copyCellWriterFor', () => {
  it('writes every type exactly as toCopyCell does', () => {
    const cases: [unknown, unknown[]][] = [
      ['int', [0, -7, 2_147_483_647, null]],
      ['long', [12_345_678_901, -1, null]],
      [{ type: 'int', 'connect.type': 'int16' }, [300]],
      ['float', [1.5, Number.NaN, Number.POSITIVE_INFINITY, null]],
      ['double', [36.6, -0, Number.NEGATIVE_INFINITY, 1e-300, null]],
      ['boolean', [true, false, null]],
      ['string', ['plain', 'tab\there', 'back\\slash', 'nul\u0000x', 'line\nbreak\r', '', null]],
      ['bytes', [Buffer.from([0, 255]), null]],
      [{ type: 'long', logicalType: 'timestamp-millis' }, [Date.UTC(2026, 10, 23, 1, 2, 3, 4), -5, null]],
      [{ type: 'int', logicalType: 'date' }, [20_000, null]],
      [{ type: 'int', logicalType: 'time-millis' }, [45_296_789, null]],
      [{ type: 'bytes', logicalType: 'decimal', precision: 6, scale: 2 }, [Buffer.from([0xfb, 0x2e]), null]],
      [{ type: 'array', items: 'string' }, [['a\tb', null], null]],
      [{ type: 'enum', name: 'Acvpu', symbols: ['A', 'C'] }, ['C', null]],
    ];
    for (const [avro, values] of cases) {
      const schema = toConnectSchema(avro as never);
      const write = copyCellWriterFor(schema);
      for (const value of values) expect(write(value)).toBe(toCopyCell(schema, value));
    }
  });

  it('refuses a value of the wrong type', () => {
    expect(() => copyCellWriterFor(toConnectSchema('double'))('36.6')).toThrow('expected a number');
    expect(() => copyCellWriterFor(toConnectSchema('int'))('7')).toThrow('expected an integer');
  });
});
