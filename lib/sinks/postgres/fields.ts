import { SchemaError } from '../../errors';
import { DEFAULT_KAFKA_PK_NAMES, PK_MODE, type SinkConnectorConfig } from './config';
import { type ConnectSchema, describeConnectSchema } from './connect-schema';

/** Where a column's value is taken from. */
export type FieldSource =
  | { from: 'kafka'; coordinate: 'topic' | 'partition' | 'offset' }
  | { from: 'key'; path: string | undefined }
  | { from: 'value'; path: string };

/** A column the sink writes (the JDBC sink's SinkRecordField). */
export type SinkField = { name: string; schema: ConnectSchema; isPrimaryKey: boolean; source: FieldSource };

/** Key and non-key field names, and all fields in column order. */
export type FieldsMetadata = { keyFieldNames: string[]; nonKeyFieldNames: string[]; allFields: SinkField[] };

/** A key field is never optional; others follow their schema (SinkRecordField.isOptional). */
export const isOptionalField = (field: SinkField): boolean => !field.isPrimaryKey && field.schema.optional;

/** A default that counts: Connect treats a null default as none. */
export const hasDefault = (field: SinkField): boolean =>
  field.schema.defaultValue !== undefined && field.schema.defaultValue !== null;

/** The connector's `SinkRecordField.toString()`, as it appears in its messages. */
export const describeField = (field: SinkField): string =>
  `SinkRecordField{schema=${describeConnectSchema(field.schema)}, name='${field.name}', isPrimaryKey=${field.isPrimaryKey}}`;

const isPrimitive = (schema: ConnectSchema) => !['STRUCT', 'ARRAY', 'MAP'].includes(schema.type);

const PK_MODE_NAME = {
  kafka: 'KAFKA',
  record_key: 'RECORD_KEY',
  record_value: 'RECORD_VALUE',
  none: 'NONE',
} as const;

/**
 * Which columns a record maps to, and which form the primary key: FieldsMetadata.extract of the
 * JDBC sink, including its column order (Kafka coordinates, then value fields in schema order,
 * then remaining key fields by name) and its messages.
 */
export const extractFieldsMetadata = (
  tableName: string,
  config: Pick<SinkConnectorConfig, 'pkMode' | 'pkFields' | 'fieldsWhitelist'>,
  keySchema: ConnectSchema | undefined,
  valueSchema: ConnectSchema | undefined,
): FieldsMetadata => {
  if (valueSchema !== undefined && valueSchema.type !== 'STRUCT') {
    throw new SchemaError('Value schema must be of type Struct');
  }
  const all = new Map<string, SinkField>();
  const keyFieldNames: string[] = [];
  const pkFields = [...config.pkFields];
  const modeName = PK_MODE_NAME[config.pkMode];

  switch (config.pkMode) {
    case PK_MODE.none:
      break;
    case PK_MODE.kafka: {
      if (pkFields.length !== 0 && pkFields.length !== 3) {
        throw new SchemaError(
          `PK mode for table '${tableName}' is KAFKA so there should either be no field names defined for defaults [${DEFAULT_KAFKA_PK_NAMES.join(', ')}] to be applicable, or exactly 3, defined fields are: [${pkFields.join(', ')}]`,
        );
      }
      const [topic, partition, offset] = pkFields.length === 3 ? pkFields : [...DEFAULT_KAFKA_PK_NAMES];
      const coordinates = [
        [topic, 'STRING', 'topic'],
        [partition, 'INT32', 'partition'],
        [offset, 'INT64', 'offset'],
      ] as const;
      for (const [name, type, coordinate] of coordinates) {
        const fieldName = name as string;
        keyFieldNames.push(fieldName);
        all.set(fieldName, {
          name: fieldName,
          schema: { type, optional: false },
          isPrimaryKey: true,
          source: { from: 'kafka', coordinate },
        });
      }
      break;
    }
    case PK_MODE.recordKey: {
      if (keySchema === undefined) {
        throw new SchemaError(
          `PK mode for table '${tableName}' is ${modeName}, but record key schema is missing`,
        );
      }
      if (isPrimitive(keySchema)) {
        const [only] = pkFields;
        if (pkFields.length !== 1 || only === undefined) {
          throw new SchemaError(
            `Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: [${pkFields.join(', ')}]`,
          );
        }
        keyFieldNames.push(only);
        all.set(only, {
          name: only,
          schema: keySchema,
          isPrimaryKey: true,
          source: { from: 'key', path: undefined },
        });
      } else if (keySchema.type === 'STRUCT') {
        const keyFields = keySchema.fields ?? [];
        const names = pkFields.length === 0 ? keyFields.map((field) => field.name) : pkFields;
        for (const name of names) {
          const field = keyFields.find((candidate) => candidate.name === name);
          if (field === undefined) {
            throw new SchemaError(
              `PK mode for table '${tableName}' is ${modeName} with configured PK fields [${pkFields.join(', ')}], but record key schema does not contain field: ${name}`,
            );
          }
          keyFieldNames.push(name);
          all.set(name, {
            name,
            schema: field.schema,
            isPrimaryKey: true,
            source: { from: 'key', path: name },
          });
        }
      } else {
        throw new SchemaError(
          `Key schema must be primitive type or Struct, but is of type: ${keySchema.type}`,
        );
      }
      break;
    }
    case PK_MODE.recordValue: {
      if (valueSchema === undefined) {
        throw new SchemaError(
          `PK mode for table '${tableName}' is ${modeName}, but record value schema is missing`,
        );
      }
      const valueFields = valueSchema.fields ?? [];
      const names = pkFields.length === 0 ? valueFields.map((field) => field.name) : pkFields;
      for (const name of names) {
        const field = valueFields.find((candidate) => candidate.name === name);
        if (field === undefined) {
          throw new SchemaError(
            `PK mode for table '${tableName}' is ${modeName} with configured PK fields [${pkFields.join(', ')}], but record value schema does not contain field: ${name}`,
          );
        }
        keyFieldNames.push(name);
        all.set(name, {
          name,
          schema: field.schema,
          isPrimaryKey: true,
          source: { from: 'value', path: name },
        });
      }
      break;
    }
  }

  const nonKeyFieldNames: string[] = [];
  for (const field of valueSchema?.fields ?? []) {
    if (keyFieldNames.includes(field.name)) continue;
    if (config.fieldsWhitelist.length > 0 && !config.fieldsWhitelist.includes(field.name)) continue;
    nonKeyFieldNames.push(field.name);
    all.set(field.name, {
      name: field.name,
      schema: field.schema,
      isPrimaryKey: false,
      source: { from: 'value', path: field.name },
    });
  }

  if (all.size === 0)
    throw new SchemaError(`No fields found using key and value schemas for table: ${tableName}`);

  const ordered: SinkField[] = [];
  const take = (name: string) => {
    const field = all.get(name);
    if (field !== undefined && !ordered.includes(field)) ordered.push(field);
  };
  for (const name of DEFAULT_KAFKA_PK_NAMES) take(name);
  for (const field of valueSchema?.fields ?? []) take(field.name);
  for (const name of [...all.keys()].sort()) take(name);
  return { keyFieldNames, nonKeyFieldNames, allFields: ordered };
};
