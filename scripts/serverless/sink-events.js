// The sink's Kafka events, one per ward: an event source mapping reads one topic, and `simulate`
// publishes to biometrics_<ward> for every ward of its SIMULATOR_WARDS. The stage's event
// (`custom.kafkaEvents.<variant>.sinkPostgres`) is the template; each ward gets a copy with its
// topic, so the sink reads exactly the topics the simulator writes, whatever the wards.

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

module.exports.events = async ({ resolveConfigurationProperty, resolveVariable }) => {
  const variant = await resolveVariable('param:kafkaVariant');
  const template = await resolveConfigurationProperty(['custom', 'kafkaEvents', variant, 'sinkPostgres']);
  const [first] = template ?? [];
  if (first === undefined) throw new Error(`custom.kafkaEvents.${variant}.sinkPostgres has no event`);
  const wards = wardsOf(
    await resolveConfigurationProperty(['functions', 'simulate', 'environment', 'SIMULATOR_WARDS']),
  );
  return wards.map((ward) => withTopic(first, `biometrics_${ward}`));
};
