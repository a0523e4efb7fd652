import type avro from 'avsc';
import { BODY_OFFSET, EncodedAvro } from '../../avro/registry';
import { CopyRows } from './copy-rows';
import type { SinkField } from './fields';
import { compileTranscoder, type Transcoder, type WantedField } from './transcode';
import { copyCellWriterFor } from './values';

/** The part of a Kafka record a row is made of (key and value decoded, or still encoded Avro). */
export type RowSource = {
  topic: string;
  partition: number;
  offset: number;
  key: unknown | null;
  value: unknown | null;
};

/**
 * Turns records into COPY rows for one plan (columns in table order). Two steps, so the sink can
 * look a row's key up before placing it: `read` takes the record's cells (and returns the key
 * cells, joined, when rows are folded by key), `binary` when they go into binary rows; `emit`
 * appends them as a row.
 */
export type RowWriter = {
  read(record: RowSource, binary?: boolean): string | undefined;
  /** Appends the record `read` last as a row of `rows`, in their format (text or binary). */
  emit(rows: CopyRows, replace: number): number;
  /**
   * Whether these records' rows can be written in COPY's binary format, given the table's column
   * types (`typeOf` a column, as `format_type` spells it): every column of a type with a binary
   * cell, every key (when read) and value still encoded Avro of one writer schema each, and, for
   * rows folded by key, no floating-point or Kafka-coordinate key column (the cells' bytes would
   * not tell keys apart as PostgreSQL does). Prepares what read and emit then need.
   */
  binaryFor(records: readonly RowSource[], typeOf: (field: SinkField) => string | undefined): boolean;
};

const TAB = 0x09;
/** Key columns of these types keep text rows: -0 and 0 are one key to PostgreSQL, two byte strings here. */
const FLOAT_TYPES = new Set(['real', 'double precision']);

type Cell = (record: RowSource, key: unknown, value: unknown) => string;

/** A column's COPY cell from decoded values. */
const decodedCellOf = (field: SinkField): Cell => {
  const write = copyCellWriterFor(field.schema);
  const { source } = field;
  switch (source.from) {
    case 'kafka':
      return source.coordinate === 'topic'
        ? (record) => write(record.topic)
        : source.coordinate === 'partition'
          ? (record) => write(record.partition)
          : (record) => write(record.offset);
    case 'key': {
      const { path } = source;
      return path === undefined
        ? (_record, key) => write(key)
        : (_record, key) => write((key as Record<string, unknown> | null)?.[path]);
    }
    case 'value': {
      const { path } = source;
      return (_record, _key, value) => write((value as Record<string, unknown> | null)?.[path]);
    }
  }
};

/** Wanted fields with their columns' types (as `format_type` spells them), for binary cells. */
const typedFields = (
  fields: ReadonlyMap<string, WantedField>,
  types: readonly (string | undefined)[],
): Map<string, WantedField> =>
  new Map([...fields].map(([name, field]) => [name, { ...field, columnType: types[field.slot] }]));

const decoded = (datum: unknown): unknown => (datum instanceof EncodedAvro ? datum.decode() : datum);

/**
 * Creates the row writer of a plan. Records whose Avro key and value are still encoded are
 * transcoded straight into COPY bytes; others (values decoded upstream, or a schema with a column
 * the transcoder does not handle) go through the decoded values and `toCopyCell`'s converters.
 */
export const createRowWriter = (columns: readonly SinkField[], foldByKey: boolean): RowWriter => {
  const cellsOf = columns.map(decodedCellOf);
  const keyIndexes = columns.flatMap((field, index) => (field.isPrimaryKey ? [index] : []));
  const cells: string[] = [];

  const valueFields = new Map<string, WantedField>();
  const keyFields = new Map<string, WantedField>();
  let wholeKey: WantedField | undefined;
  columns.forEach((field, slot) => {
    const { source } = field;
    if (source.from === 'value') valueFields.set(source.path, { slot, schema: field.schema });
    else if (source.from === 'key') {
      if (source.path === undefined) wholeKey = { slot, schema: field.schema };
      else keyFields.set(source.path, { slot, schema: field.schema });
    }
  });
  const readsKey = wholeKey !== undefined || keyFields.size > 0;
  const readsValue = valueFields.size > 0;
  const keyWanted = wholeKey === undefined ? { fields: keyFields } : { whole: wholeKey };

  // Compiled for the first encoded record (all records of a plan share their writer schemas);
  // null: cannot be transcoded.
  let keyTranscoder: Transcoder | null | undefined;
  let valueTranscoder: Transcoder | null | undefined;
  const scratch = CopyRows.text();
  const slots = new Int32Array(2 * columns.length);
  // The topic cell repeats on every row of a batch: escaped and encoded once per topic.
  let lastTopic: string | undefined;
  let topicCell = Buffer.alloc(0);
  const writeTopic = (rows: CopyRows, topic: string): void => {
    if (topic !== lastTopic) {
      const cell = CopyRows.text();
      cell.begin();
      cell.text(topic);
      cell.end();
      topicCell = Buffer.from(cell.lineAt(0));
      lastTopic = topic;
    }
    rows.prepared(topicCell);
  };
  let transcoded = false;
  let current: RowSource | undefined;

  // Rows that are Kafka coordinates then value fields in the writer's order (pk.mode none, kafka
  // and record_value, unless folded) are transcoded inline: straight into the row, no scratch.
  const valueColumns = columns.filter((field) => field.source.from === 'value');
  const kafkaColumns = columns.filter((field) => field.source.from === 'kafka');
  const inlineLayout =
    !foldByKey &&
    !readsKey &&
    readsValue &&
    columns.every((field, index) => index < kafkaColumns.length === (field.source.from === 'kafka'));
  let inlineTranscoder: Transcoder | null | undefined;
  let inline = false;

  // Binary rows: the Kafka coordinates' cells by column type, then the value's, transcoded inline.
  type CoordinateCell = (rows: CopyRows, record: RowSource) => void;
  let binaryTranscoder: Transcoder | undefined;
  let binarySignature: string | undefined;
  let binaryCoordinates: CoordinateCell[] = [];
  const topicCells = new Map<string, Buffer>();
  const binaryTopicCell = (topic: string): Buffer => {
    let cell = topicCells.get(topic);
    if (cell === undefined) {
      const text = Buffer.from(topic, 'utf8');
      cell = Buffer.alloc(4 + text.length);
      cell.writeInt32BE(text.length, 0);
      text.copy(cell, 4);
      topicCells.set(topic, cell);
    }
    return cell;
  };
  const coordinateCellOf = (field: SinkField, type: string | undefined): CoordinateCell | undefined => {
    const { source } = field;
    if (source.from !== 'kafka') return undefined;
    if (source.coordinate === 'topic')
      return type === 'text' ? (rows, record) => rows.prepared(binaryTopicCell(record.topic)) : undefined;
    const numberOf =
      source.coordinate === 'partition'
        ? (record: RowSource) => record.partition
        : (record: RowSource) => record.offset;
    if (type === 'bigint') return (rows, record) => rows.int8Cell(numberOf(record));
    return type === 'integer' && source.coordinate === 'partition'
      ? (rows, record) => rows.int4Cell(numberOf(record))
      : undefined;
  };

  // Folded rows (upserts) whose columns are the key's cells then the value's, each in its writer's
  // order, are transcoded tab-separated into the scratch: the row is then one copy of it, and its
  // key the text of its first cells.
  const keyColumns = columns.filter((field) => field.source.from === 'key');
  const foldLayout =
    foldByKey &&
    readsKey &&
    readsValue &&
    columns.every((field, index) => index < keyColumns.length === (field.source.from === 'key'));
  type Fold = { key: Transcoder; value: Transcoder };
  let foldTranscoders: Fold | null | undefined;
  let binaryFold: Fold | undefined;
  type Slotted = { key: Transcoder | undefined; value: Transcoder; cells: CoordinateCell[] };
  let binarySlots: Slotted | undefined;
  let slotted = false;
  let foldedInline = false;

  /** The names of a record type's fields that `wanted` holds, in the writer's order. */
  const writerOrderOf = (type: unknown, wanted: ReadonlyMap<string, WantedField>): string[] | undefined =>
    (type as { fields?: { name: string }[] }).fields
      ?.map((field) => field.name)
      .filter((name) => wanted.has(name));
  const sameOrder = (names: string[] | undefined, fields: readonly SinkField[]): boolean =>
    names !== undefined &&
    names.length === fields.length &&
    names.every((name, index) => {
      const source = fields[index]?.source;
      return source !== undefined && source.from !== 'kafka' && source.path === name;
    });

  const inlineFor = (value: EncodedAvro): Transcoder | null => {
    if (inlineTranscoder !== undefined) return inlineTranscoder;
    inlineTranscoder = sameOrder(writerOrderOf(value.type, valueFields), valueColumns)
      ? (compileTranscoder(value.type, { fields: valueFields, inline: true }) ?? null)
      : null;
    return inlineTranscoder;
  };

  const foldFor = (key: EncodedAvro, value: EncodedAvro): Fold | null => {
    if (foldTranscoders !== undefined) return foldTranscoders;
    foldTranscoders = null;
    const keyInline =
      wholeKey !== undefined
        ? compileTranscoder(key.type, { whole: wholeKey })
        : sameOrder(writerOrderOf(key.type, keyFields), keyColumns)
          ? compileTranscoder(key.type, { fields: keyFields, inline: true })
          : undefined;
    const valueInline = sameOrder(writerOrderOf(value.type, valueFields), valueColumns)
      ? compileTranscoder(value.type, { fields: valueFields, inline: true })
      : undefined;
    if (keyInline !== undefined && valueInline !== undefined)
      foldTranscoders = { key: keyInline, value: valueInline };
    return foldTranscoders;
  };

  /**
   * Transcodes a folded row's key cells then value cells into the scratch (in text, a tab between
   * them); returns where the key cells end. Only bytes are written to the scratch here, never rows.
   */
  const writeFolded = (record: RowSource, fold: Fold, text: boolean): number => {
    scratch.advanceTo(0);
    fold.key((record.key as EncodedAvro).bytes, BODY_OFFSET, scratch, slots);
    const keyEnd = scratch.position;
    if (text) scratch.byte(TAB);
    fold.value((record.value as EncodedAvro).bytes, BODY_OFFSET, scratch, slots);
    return keyEnd;
  };

  /** Transcodes a folded row into the scratch; returns its key, or undefined when it cannot. */
  const transcodeFolded = (record: RowSource): string | undefined => {
    const { key, value } = record;
    if (!(key instanceof EncodedAvro) || !(value instanceof EncodedAvro)) return undefined;
    const fold = foldFor(key, value);
    if (fold === null) return undefined;
    // As rowKeyOf spells it: every key cell followed by a tab.
    return `${scratch.textAt(0, writeFolded(record, fold, true))}\t`;
  };

  /** The key's binary cells: in the writer's order (`inline`) or each at its column's slot. */
  const binaryKeyCellsOf = (type: avro.Type, types: (string | undefined)[], inline: boolean) =>
    wholeKey === undefined
      ? compileTranscoder(type, { fields: typedFields(keyFields, types), inline, binary: true })
      : compileTranscoder(type, { whole: { ...wholeKey, columnType: types[wholeKey.slot] }, binary: true });

  /** Binary transcoders for rows of Kafka coordinates then the value's cells, in the writer's order. */
  const binaryInlineFor = (value: EncodedAvro, types: (string | undefined)[]): void => {
    if (inlineFor(value) === null) return;
    const coordinates = kafkaColumns.map((field, index) => coordinateCellOf(field, types[index]));
    if (coordinates.some((cell) => cell === undefined)) return;
    binaryTranscoder = compileTranscoder(value.type, {
      fields: typedFields(valueFields, types),
      inline: true,
      binary: true,
    });
    binaryCoordinates = coordinates as CoordinateCell[];
  };

  /** Binary transcoders for folded rows: key cells then value cells, by column type. */
  const binaryFoldFor = (key: EncodedAvro, value: EncodedAvro, types: (string | undefined)[]): boolean => {
    if (foldFor(key, value) === null) return false;
    const keyCells = binaryKeyCellsOf(key.type, types, true);
    const valueCells = compileTranscoder(value.type, {
      fields: typedFields(valueFields, types),
      inline: true,
      binary: true,
    });
    if (keyCells !== undefined && valueCells !== undefined) binaryFold = { key: keyCells, value: valueCells };
    return binaryFold !== undefined;
  };

  /**
   * Binary transcoders for rows of any other layout: key and value cells into the scratch, each at
   * its column's slot, then copied in column order (the Kafka coordinates' cells made by type).
   */
  const binarySlotsFor = (
    key: EncodedAvro | undefined,
    value: EncodedAvro,
    types: (string | undefined)[],
  ): void => {
    const cells: CoordinateCell[] = [];
    for (const [index, field] of columns.entries()) {
      const cell =
        field.source.from === 'kafka'
          ? coordinateCellOf(field, types[index])
          : (rows: CopyRows) =>
              rows.appendFrom(scratch, slots[2 * index] as number, slots[2 * index + 1] as number);
      if (cell === undefined) return;
      cells.push(cell);
    }
    const keyCells = key === undefined ? undefined : binaryKeyCellsOf(key.type, types, false);
    if (key !== undefined && keyCells === undefined) return;
    const valueCells = compileTranscoder(value.type, {
      fields: typedFields(valueFields, types),
      binary: true,
    });
    if (valueCells !== undefined) binarySlots = { key: keyCells, value: valueCells, cells };
  };

  /**
   * Whether folded rows can be told apart by their key cells' bytes: not when a key column is a
   * Kafka coordinate (not in the scratch) or floating point (-0 and 0 are one key to PostgreSQL).
   */
  const keyedByBytes = (types: (string | undefined)[]): boolean =>
    keyIndexes.every(
      (index) => columns[index]?.source.from !== 'kafka' && !FLOAT_TYPES.has(types[index] ?? ''),
    );

  /** Whether every record's key and value are encoded by the first one's writer schemas. */
  const sameWriters = (records: readonly RowSource[], withKey: boolean): boolean => {
    const { key, value } = records[0] ?? {};
    if (!(value instanceof EncodedAvro) || (withKey && !(key instanceof EncodedAvro))) return false;
    return records.every(
      (record) =>
        record.value instanceof EncodedAvro &&
        record.value.type === value.type &&
        (!withKey || (record.key instanceof EncodedAvro && record.key.type === (key as EncodedAvro).type)),
    );
  };

  const transcode = (record: RowSource): boolean => {
    const { key, value } = record;
    if (readsKey) {
      if (!(key instanceof EncodedAvro)) return false;
      if (keyTranscoder === undefined) keyTranscoder = compileTranscoder(key.type, keyWanted) ?? null;
      if (keyTranscoder === null) return false;
    }
    if (readsValue) {
      if (!(value instanceof EncodedAvro)) return false;
      if (valueTranscoder === undefined)
        valueTranscoder = compileTranscoder(value.type, { fields: valueFields }) ?? null;
      if (valueTranscoder === null) return false;
    }
    scratch.clear();
    if (readsKey) keyTranscoder?.((key as EncodedAvro).bytes, BODY_OFFSET, scratch, slots);
    if (readsValue) valueTranscoder?.((value as EncodedAvro).bytes, BODY_OFFSET, scratch, slots);
    return true;
  };

  const slotText = (index: number): string =>
    scratch.textAt(slots[2 * index] as number, slots[2 * index + 1] as number);
  const cellText = (record: RowSource, index: number): string => {
    if (!transcoded) return cells[index] as string;
    const field = columns[index] as SinkField;
    return field.source.from === 'kafka' ? (cellsOf[index] as Cell)(record, null, null) : slotText(index);
  };
  const rowKeyOf = (record: RowSource): string => {
    let rowKey = '';
    for (const index of keyIndexes) rowKey += `${cellText(record, index)}\t`;
    return rowKey;
  };

  /** Transcodes the record's value into the row begun last and ends it; a failed record leaves no half row. */
  const endTranscoded = (
    transcoder: Transcoder | null | undefined,
    record: RowSource,
    rows: CopyRows,
  ): number => {
    try {
      transcoder?.((record.value as EncodedAvro).bytes, BODY_OFFSET, rows, slots);
    } catch (error) {
      rows.abort();
      throw error;
    }
    return rows.end();
  };

  return {
    binaryFor(records, typeOf) {
      if (!readsValue || !sameWriters(records, readsKey)) return false;
      const { key, value } = records[0] as RowSource;
      // Compiled once per column types (a plan has one writer schema each): batches reuse it.
      const types = columns.map(typeOf);
      const signature = JSON.stringify(types);
      if (signature !== binarySignature) {
        binarySignature = signature;
        binaryTranscoder = undefined;
        binaryFold = undefined;
        binarySlots = undefined;
        if (inlineLayout) binaryInlineFor(value as EncodedAvro, types);
        else if (!foldByKey || keyedByBytes(types)) {
          const folded = foldLayout && binaryFoldFor(key as EncodedAvro, value as EncodedAvro, types);
          if (!folded)
            binarySlotsFor(readsKey ? (key as EncodedAvro) : undefined, value as EncodedAvro, types);
        }
      }
      return binaryTranscoder !== undefined || binaryFold !== undefined || binarySlots !== undefined;
    },
    read(record, binary = false) {
      current = record;
      foldedInline = false;
      slotted = false;
      if (binary && binaryFold !== undefined) {
        foldedInline = true;
        // Binary cells carry their length: the key is its cells' bytes.
        return scratch.bytesAt(0, writeFolded(record, binaryFold, false));
      }
      if (binary && binarySlots !== undefined) {
        slotted = true;
        scratch.clear();
        binarySlots.key?.((record.key as EncodedAvro).bytes, BODY_OFFSET, scratch, slots);
        binarySlots.value((record.value as EncodedAvro).bytes, BODY_OFFSET, scratch, slots);
        if (!foldByKey) return undefined;
        // The key cells' bytes: each is length-prefixed, so their concatenation is unambiguous.
        let rowKey = '';
        for (const index of keyIndexes)
          rowKey += scratch.bytesAt(slots[2 * index] as number, slots[2 * index + 1] as number);
        return rowKey;
      }
      if (foldLayout) {
        const rowKey = transcodeFolded(record);
        if (rowKey !== undefined) {
          foldedInline = true;
          return rowKey;
        }
      }
      // Inline rows are transcoded by emit: a record that fails there fails before its row ends.
      inline = inlineLayout && record.value instanceof EncodedAvro && inlineFor(record.value) !== null;
      if (inline) return undefined;
      transcoded = transcode(record);
      if (transcoded) return foldByKey ? rowKeyOf(record) : undefined;
      const key = decoded(record.key);
      const value = decoded(record.value);
      cells.length = 0;
      for (const cell of cellsOf) cells.push(cell(record, key, value));
      return foldByKey ? rowKeyOf(record) : undefined;
    },
    emit(rows, replace) {
      const record = current as RowSource;
      rows.begin(replace);
      // Folded rows are already transcoded into the scratch, in the rows' format (read's `binary`).
      if (foldedInline) {
        rows.appendFrom(scratch, 0, scratch.position);
        return rows.end();
      }
      if (slotted) {
        for (const cell of (binarySlots as Slotted).cells) cell(rows, record);
        return rows.end();
      }
      if (rows.binary) {
        // Only rows binaryFor accepted are made binary.
        for (const cell of binaryCoordinates) cell(rows, record);
        return endTranscoded(binaryTranscoder, record, rows);
      }
      if (inline) {
        for (const [index, field] of kafkaColumns.entries()) {
          if (index > 0) rows.byte(TAB);
          const { source } = field;
          if (source.from !== 'kafka') continue;
          if (source.coordinate === 'topic') writeTopic(rows, record.topic);
          else rows.integer(source.coordinate === 'partition' ? record.partition : record.offset);
        }
        if (kafkaColumns.length > 0) rows.byte(TAB);
        return endTranscoded(inlineTranscoder, record, rows);
      }
      for (let index = 0; index < columns.length; index += 1) {
        if (index > 0) rows.byte(TAB);
        const { source } = columns[index] as SinkField;
        if (!transcoded) rows.escaped(cells[index] as string);
        else if (source.from !== 'kafka')
          rows.appendFrom(scratch, slots[2 * index] as number, slots[2 * index + 1] as number);
        else if (source.coordinate === 'topic') writeTopic(rows, record.topic);
        else rows.integer(source.coordinate === 'partition' ? record.partition : record.offset);
      }
      return rows.end();
    },
  };
};
