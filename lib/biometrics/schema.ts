import type { AvroSchema } from '../avro/registry';
import type { Reading } from './simulator';

/** A ward is a topic suffix (biometrics_<ward>). */
export const WARD_PATTERN = /^[A-Za-z0-9_]+$/;
export const WARD_RULE = 'wards are topic suffixes: letters, digits, _';

/** Readings go to one topic per ward, as Medrical's connector expects (`topics.regex` biometrics_(.*)). */
export const topicOfWard = (ward: string): string => `biometrics_${ward}`;

/** TopicNameStrategy subjects: what Confluent serializers and the JDBC sink's AvroConverter look up. */
export const subjectsOf = (topic: string): { key: string; value: string } => ({
  key: `${topic}-key`,
  value: `${topic}-value`,
});

/** The record key: the patient id, so all readings of a patient share a partition (ordered). */
export const BIOMETRICS_KEY_SCHEMA = {
  type: 'record',
  name: 'BiometricsKey',
  namespace: 'io.medstream.biometrics',
  fields: [{ name: 'patient_id', type: 'string' }],
} as const satisfies AvroSchema;

/**
 * The reading. Field names are snake_case because they become PostgreSQL columns through the JDBC
 * sink. New fields must be optional or have a default (the subjects are BACKWARD compatible).
 */
export const BIOMETRICS_VALUE_SCHEMA = {
  type: 'record',
  name: 'BiometricsReading',
  namespace: 'io.medstream.biometrics',
  fields: [
    { name: 'patient_id', type: 'string' },
    { name: 'ward', type: 'string' },
    { name: 'time', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'heart_rate', type: 'int', doc: 'beats per minute' },
    { name: 'respiratory_rate', type: 'int', doc: 'breaths per minute' },
    { name: 'spo2', type: 'int', doc: 'peripheral oxygen saturation, %' },
    { name: 'temperature', type: 'double', doc: 'body temperature, °C' },
    { name: 'systolic_bp', type: 'int', doc: 'mmHg' },
    { name: 'diastolic_bp', type: 'int', doc: 'mmHg' },
    { name: 'consciousness', type: 'string', doc: 'ACVPU: A, C, V, P or U' },
    { name: 'supplemental_oxygen', type: 'boolean' },
  ],
} as const satisfies AvroSchema;

/** The Avro key record. */
export type BiometricsKey = { patient_id: string };

/** The Avro value record (BIOMETRICS_VALUE_SCHEMA). */
export type BiometricsValue = {
  patient_id: string;
  ward: string;
  time: number;
  heart_rate: number;
  respiratory_rate: number;
  spo2: number;
  temperature: number;
  systolic_bp: number;
  diastolic_bp: number;
  consciousness: string;
  supplemental_oxygen: boolean;
};

/** The Avro key of a reading. */
export const toBiometricsKey = (reading: Reading): BiometricsKey => ({ patient_id: reading.patientId });

/** The Avro value of a reading (time stays epoch ms: avsc encodes timestamp-millis as a long). */
export const toBiometricsValue = (reading: Reading): BiometricsValue => ({
  patient_id: reading.patientId,
  ward: reading.ward,
  time: reading.time,
  heart_rate: reading.heartRate,
  respiratory_rate: reading.respiratoryRate,
  spo2: reading.spo2,
  temperature: reading.temperature,
  systolic_bp: reading.systolicBp,
  diastolic_bp: reading.diastolicBp,
  consciousness: reading.consciousness,
  supplemental_oxygen: reading.supplementalOxygen,
});
