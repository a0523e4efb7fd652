import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// `serverless package` for every Kafka variant, with dummy credentials (packaging makes no AWS
// call), then checks of the CloudFormation template it would deploy, and cfn-lint on it.
const run = promisify(execFile);
const root = path.resolve(__dirname, '../../..');
const variants = ['local', 'selfmanaged', 'msk'] as const;
// The simulator's wards: the stage's default, except one stage packaged with two of them.
const wardsByStage: Record<string, string[]> = {
  local: ['default'],
  selfmanaged: ['icu', 'er'],
  msk: ['default'],
};

// Actions AWS documents with Resource '*' for a Lambda in a VPC and a Kafka ESM reaching brokers there.
const networkInterfaceActions = new Set([
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeVpcs',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
]);

type Resource = { Type: string; Properties: Record<string, unknown> };
type Template = { Resources: Record<string, Resource> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type FunctionState = { events: Record<string, unknown>[] };
type Packaged = { template: Template; functions: Record<string, FunctionState>; templatePath: string };

const packaged = new Map<string, Packaged>();
let workdir = '';
const esbuildFolder = `.esbuild-package-${process.pid}`;
// A file in the default build folder, as a running `npm start` has its handlers there.
const defaultFolder = path.join(root, '.esbuild');
const marker = path.join(defaultFolder, `package-test-${process.pid}`);
let createdDefaultFolder = false;

const resourcesOfType = (template: Template, type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

const eventsOfKind = (functions: Record<string, FunctionState>, kinds: string[]): number =>
  Object.values(functions)
    .flatMap((definition) => definition.events)
    .filter((event) => kinds.some((kind) => kind in event)).length;

beforeAll(async () => {
  workdir = await mkdtemp(path.join(tmpdir(), 'medstream-package-'));
  createdDefaultFolder = !existsSync(defaultFolder);
  await mkdir(defaultFolder, { recursive: true });
  await writeFile(marker, '');
  for (const stage of variants) {
    const out = path.join(workdir, stage);
    await run('npx', ['sls', 'package', '--stage', stage, '--package', out], {
      cwd: root,
      env: {
        ...process.env,
        // Its own build folder: the default one may be a running `npm start`'s.
        MEDSTREAM_ESBUILD_FOLDER: esbuildFolder,
        SIMULATOR_WARDS: stage === 'selfmanaged' ? wardsByStage[stage]?.join(',') : undefined,
        AWS_ACCESS_KEY_ID: 'dummy',
        AWS_SECRET_ACCESS_KEY: 'dummy',
        AWS_SESSION_TOKEN: '',
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    const templatePath = path.join(out, 'cloudformation-template-update-stack.json');
    const template = JSON.parse(await readFile(templatePath, 'utf8')) as Template;
    const state = JSON.parse(await readFile(path.join(out, 'serverless-state.json'), 'utf8')) as {
      service: { functions: Record<string, FunctionState> };
    };
    packaged.set(stage, { template, functions: state.service.functions, templatePath });
  }
}, 600_000);

afterAll(async () => {
  if (workdir) await rm(workdir, { recursive: true, force: true });
  await rm(path.join(root, esbuildFolder), { recursive: true, force: true });
  await rm(marker, { force: true });
  if (createdDefaultFolder) await rmdir(defaultFolder).catch(() => undefined);
});

const variant = (stage: string): Packaged => {
  const result = packaged.get(stage);
  if (result === undefined) throw new Error(`stage ${stage} was not packaged`);
  return result;
};

it("packages in a build folder of its own, leaving a running `npm start`'s alone", () => {
  expect(existsSync(marker)).toBe(true);
  expect(existsSync(path.join(root, esbuildFolder))).toBe(false);
});

describe.each(variants)('serverless package --stage %s', (stage) => {
  it('creates one event source mapping per Kafka event, with the error-handling controls', () => {
    const { template, functions } = variant(stage);
    const mappings = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBe(eventsOfKind(functions, ['kafka', 'msk']));
    expect(mappings.length).toBeGreaterThan(0);
    for (const [logicalId, mapping] of mappings) {
      expect(mapping.Properties).toMatchObject({
        MaximumRetryAttempts: expect.any(Number),
        MaximumRecordAgeInSeconds: expect.any(Number),
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ProvisionedPollerConfig: expect.any(Object),
      });
      if (logicalId.startsWith('SinkPostgres')) {
        // The sink waits out an outage: infinite retries, no age limit, no on-failure topic.
        expect(mapping.Properties).toMatchObject({ MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1 });
        expect(mapping.Properties.DestinationConfig).toBeUndefined();
      } else {
        expect(mapping.Properties.DestinationConfig).toEqual({
          OnFailure: { Destination: expect.stringMatching(/^kafka:\/\//) },
        });
      }
      if (stage === 'msk') expect(mapping.Properties.EventSourceArn).toMatch(/^arn:aws:kafka:/);
      else expect(mapping.Properties.SelfManagedEventSource).toBeDefined();
    }
  });

  it('sinks every ward the simulator publishes to: one event source mapping per biometrics_<ward>', () => {
    const { template } = variant(stage);
    const wards = wardsByStage[stage] ?? [];
    const sinkTopics = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')
      .filter(([logicalId]) => logicalId.startsWith('SinkPostgres'))
      .flatMap(([, mapping]) => mapping.Properties.Topics as string[]);
    expect(sinkTopics).toEqual(wards.map((ward) => `biometrics_${ward}`));
    const simulate = resourcesOfType(template, 'AWS::Lambda::Function').find(([logicalId]) =>
      logicalId.startsWith('SimulateLambdaFunction'),
    );
    const environment = simulate?.[1].Properties.Environment as { Variables: Record<string, unknown> };
    expect(environment.Variables).toMatchObject({
      SIMULATOR_WARDS: wards.join(','),
      SIMULATOR_PATIENTS: '20',
    });
  });

  it('creates a schedule rule per schedule event and a route per HTTP event', () => {
    const { template, functions } = variant(stage);
    const rules = resourcesOfType(template, 'AWS::Events::Rule');
    expect(rules.length).toBe(eventsOfKind(functions, ['schedule']));
    for (const [, rule] of rules) expect(rule.Properties.ScheduleExpression).toMatch(/^(rate|cron)\(/);
    expect(resourcesOfType(template, 'AWS::ApiGatewayV2::Route').length).toBe(
      eventsOfKind(functions, ['httpApi']),
    );
  });

  it("gives every function its own role with no '*' resource beyond network interfaces", () => {
    const { template } = variant(stage);
    const functionRoles = resourcesOfType(template, 'AWS::Lambda::Function').map(
      ([, fn]) => (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
    );
    expect(new Set(functionRoles).size).toBe(functionRoles.length);
    for (const [, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
      const policies = role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[];
      for (const statement of policies.flatMap((policy) => policy.PolicyDocument.Statement)) {
        const resources = [statement.Resource].flat();
        if (!resources.includes('*')) continue;
        for (const action of [statement.Action].flat()) expect(networkInterfaceActions).toContain(action);
      }
    }
  });

  it('passes cfn-lint', async () => {
    const { templatePath } = variant(stage);
    // W3005: the framework adds a DependsOn on the role that the GetAtt already implies.
    const lint = run('bash', [
      path.join(root, 'scripts/cfn-lint.sh'),
      '--ignore-checks',
      'W3005',
      '--',
      templatePath,
    ]);
    await expect(lint).resolves.toBeDefined();
  }, 300_000);
});
