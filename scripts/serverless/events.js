// Events planned from, or checked against, the connectors.
//
// The Kafka events of the functions that read many topics: an event source mapping reads one topic,
// so each topic gets a copy of the stage's event (`custom.kafkaEvents.<variant>.<function>`, the
// template) with its own topic, planned from what writes to them:
// - sinkPostgres: biometrics_<ward> for every ward of simulate's SIMULATOR_WARDS;
// - transform: raw.<mapping> for every file of connectors/mappings; loadFhir: fhir.<type> for every
//   resource type they make (lib/connectors/trigger-topics.ts, which also checks every mapping and
//   source connector as their functions do: an invalid one stops packaging and npm start, naming it).
// Adding a mapping is adding its file: its events follow at the next package or start.
//
// csvSource's S3 events (custom.csvSourceEvents) are checked: every CSV connector of
// connectors/sources must read a bucket and prefix one of them delivers (lib/connectors/drops.ts).
const { require: tsxRequire } = require('tsx/cjs/api');

// As lib/biometrics/schema.ts (WARD_PATTERN): a ward is a topic suffix.
const WARD_PATTERN = /^[A-Za-z0-9_]+$/;

const wardsOf = (value) => {
  const wards = String(value ?? '')
    .split(',')
    .map((ward) => ward.trim())
    .filter(Boolean);
  if (wards.length === 0) throw new Error('SIMULATOR_WARDS (param simulatorWards) names no ward');
  const bad = wards.find((ward) => !WARD_PATTERN.test(ward));
  if (bad !== undefined) {
    throw new Error(`SIMULATOR_WARDS: '${bad}': wards are topic suffixes: letters, digits, _`);
  }
  return [...new Set(wards)];
};

const withTopic = (event, topic) =>
  Object.fromEntries(Object.entries(event).map(([kind, settings]) => [kind, { ...settings, topic }]));

const eventsOf = async ({ resolveConfigurationProperty, resolveVariable }, name, topics) => {
  const variant = await resolveVariable('param:kafkaVariant');
  const template = await resolveConfigurationProperty(['custom', 'kafkaEvents', variant, name]);
  const [first] = template ?? [];
  if (first === undefined) throw new Error(`custom.kafkaEvents.${variant}.${name} has no event`);
  return topics.map((topic) => withTopic(first, topic));
};

// The serverless process has no TypeScript loader: tsx's scoped require compiles the module (tests,
// which have one, pass the same function in).
const shippedTriggerTopics = () =>
  tsxRequire('../../lib/connectors/trigger-topics.ts', __filename).shippedTriggerTopics();
const checkShippedCsvDrops = (events) =>
  tsxRequire('../../lib/connectors/drops.ts', __filename).checkShippedCsvDrops(events);

// A connector its function would refuse (ConfigError, MappingError) stops serverless with its
// message, which names the file: the framework would print the stack after it.
const planned = (plan) => {
  try {
    return plan();
  } catch (error) {
    if (/^(Config|Mapping)Error$/.test(error?.name ?? '')) error.stack = `${error.name}: ${error.message}`;
    throw error;
  }
};

module.exports.sinkPostgres = async (resolver) => {
  const wards = wardsOf(
    await resolver.resolveConfigurationProperty(['functions', 'simulate', 'environment', 'SIMULATOR_WARDS']),
  );
  return eventsOf(
    resolver,
    'sinkPostgres',
    wards.map((ward) => `biometrics_${ward}`),
  );
};

module.exports.transform = async (resolver, plan = shippedTriggerTopics) =>
  eventsOf(resolver, 'transform', planned(plan).transform);

module.exports.loadFhir = async (resolver, plan = shippedTriggerTopics) =>
  eventsOf(resolver, 'loadFhir', planned(plan).loadFhir);

module.exports.csvSource = async ({ resolveConfigurationProperty }, check = checkShippedCsvDrops) => {
  const events = (await resolveConfigurationProperty(['custom', 'csvSourceEvents'])) ?? [];
  const drops = events.map(({ s3 }) => ({
    bucket: s3.bucket,
    ...Object.assign({}, ...(s3.rules ?? [])),
  }));
  planned(() => check(drops));
  return events;
};
