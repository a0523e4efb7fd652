// Lambda's Kafka error-handling controls (MaximumRetryAttempts, MaximumRecordAgeInSeconds,
// BisectBatchOnFunctionError, FunctionResponseTypes, an on-failure destination for MSK) are not all
// accepted on the framework's `kafka`/`msk` events, so they are set through `resources.extensions`
// of the generated EventSourceMapping. Its logical id depends on the function, the topic and (MSK)
// the cluster name, which vary by stage: this resolver computes the ids from the resolved events
// and applies `custom.kafkaErrorHandling.<function>` to each of that function's mappings.

// The framework's naming (lib/plugins/aws/lib/naming.js): upper-first, `-` → Dash, `_` → Underscore.
const upperFirst = (value) => value.replace(/^./, (first) => first.toUpperCase());
const normalizedFunctionName = (name) => upperFirst(name.replace(/-/g, 'Dash').replace(/_/g, 'Underscore'));
const alphaNumeric = (value) => upperFirst(String(value).replace(/[^0-9A-Za-z]/g, ''));
const mskClusterName = (arn) => (typeof arn === 'string' ? (arn.split('/')[1] ?? '') : '');

const logicalIdOf = (functionName, event) => {
  if (event.kafka) {
    return `${normalizedFunctionName(functionName)}EventSourceMappingKafka${alphaNumeric(event.kafka.topic).slice(0, 158)}`;
  }
  if (event.msk) {
    const cluster = alphaNumeric(mskClusterName(event.msk.arn)).slice(0, 79);
    return `${normalizedFunctionName(functionName)}EventSourceMappingMSK${cluster}${alphaNumeric(event.msk.topic).slice(0, 79)}`;
  }
  return undefined;
};

module.exports.extensions = async ({ resolveConfigurationProperty }) => {
  const functions = (await resolveConfigurationProperty(['functions'])) ?? {};
  const settings = (await resolveConfigurationProperty(['custom', 'kafkaErrorHandling'])) ?? {};
  const extensions = {};
  for (const [functionName, definition] of Object.entries(functions)) {
    const properties = settings[functionName];
    if (!properties) continue;
    for (const event of definition.events ?? []) {
      const logicalId = logicalIdOf(functionName, event);
      if (logicalId) extensions[logicalId] = { Properties: properties };
    }
  }
  return extensions;
};
