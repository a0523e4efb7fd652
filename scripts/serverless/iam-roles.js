// One IAM role per function, least privilege: each function lists the statement groups it needs
// in `custom.iam.<function>`; a group resolves per Kafka variant and may be empty (the local
// variant needs no Kafka or VPC permissions). CloudFormation does not flatten nested statement
// lists, so the roles are assembled here rather than in YAML.

const normalized = (name) =>
  name
    .replace(/-/g, 'Dash')
    .replace(/_/g, 'Underscore')
    .replace(/^./, (first) => first.toUpperCase());

module.exports.roles = async ({ resolveConfigurationProperty }) => {
  const [service, stage, region, functions, iam, groups] = await Promise.all([
    resolveConfigurationProperty(['service']),
    resolveConfigurationProperty(['provider', 'stage']),
    resolveConfigurationProperty(['provider', 'region']),
    resolveConfigurationProperty(['functions']),
    resolveConfigurationProperty(['custom', 'iam']),
    resolveConfigurationProperty(['custom', 'iamStatements']),
  ]);
  const Resources = {};
  for (const functionName of Object.keys(functions ?? {})) {
    const wanted = iam?.[functionName];
    if (!wanted)
      throw new Error(`custom.iam.${functionName} is missing: every function declares its permissions`);
    const logGroup = `/aws/lambda/${service}-${stage}-${functionName}`;
    const Statement = [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [
          { 'Fn::Sub': `arn:\${AWS::Partition}:logs:${region}:\${AWS::AccountId}:log-group:${logGroup}:*` },
        ],
      },
    ];
    for (const group of wanted) {
      if (!(group in (groups ?? {}))) throw new Error(`custom.iamStatements.${group} is not defined`);
      Statement.push(...(groups[group] ?? []));
    }
    Resources[`${normalized(functionName)}Role`] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
          ],
        },
        Policies: [
          {
            PolicyName: `${service}-${stage}-${functionName}`,
            PolicyDocument: { Version: '2012-10-17', Statement },
          },
        ],
      },
    };
  }
  return { Resources };
};
