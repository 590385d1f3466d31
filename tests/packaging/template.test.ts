import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATUS_INDEX } from '../../shared/adapters/dynamodb/session-store';
import {
  packagedTemplate,
  packagedTemplateFile,
  type TemplateResource as Resource,
  ROOT,
  type Template,
} from './support/packaged-template.js';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

const byType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

const statementsOf = (role: Resource): Statement[] =>
  ((role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? []).flatMap(
    (policy) => policy.PolicyDocument.Statement,
  );

const actionsOf = (role: Resource): string[] =>
  statementsOf(role).flatMap((statement) =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action],
  );

/** `osls package` offline, once: the CloudFormation template exactly as a deploy would send it. */
describe('Packaging: CloudFormation template', () => {
  let template: Template;
  const resource = (id: string): Resource => {
    const found = template.Resources[id];
    if (found === undefined) throw new Error(`no resource ${id}`);
    return found;
  };

  beforeAll(async () => {
    template = await packagedTemplate();
  }, 180_000);

  it('defines the sessions table keyed by run_id with both GSIs, a NEW_AND_OLD_IMAGES stream and TTL', () => {
    // assess
    const table = resource('WorkflowStateTable').Properties;
    expect(table).toMatchObject({
      TableName: 'tradai-workflow-state-ci',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'run_id', KeyType: 'HASH' }],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
    const indexes = (table.GlobalSecondaryIndexes as { IndexName: string }[]).map((index) => index.IndexName);
    expect(indexes).toEqual(expect.arrayContaining([STATUS_INDEX, 'trace_id-index', 'strategy-lock-index']));
  });

  it('defines the metrics table keyed by run_id and recorded_at', () => {
    // assess
    expect(resource('SessionMetricsTable').Properties).toMatchObject({
      TableName: 'tradai-session-metrics-ci',
      KeySchema: [
        { AttributeName: 'run_id', KeyType: 'HASH' },
        { AttributeName: 'recorded_at', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('runs every function on nodejs22.x with its own role', () => {
    // prepare
    const functions = byType(template, 'AWS::Lambda::Function');

    // assess
    expect(functions.map(([id]) => id)).toEqual(
      expect.arrayContaining([
        'LaunchStepLambdaFunction',
        'SessionEventsLambdaFunction',
        'SweepLambdaFunction',
        'EcsEventsLambdaFunction',
      ]),
    );
    for (const [, fn] of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Role).toMatchObject({ 'Fn::GetAtt': [expect.stringMatching(/Role$/), 'Arn'] });
    }
  });

  it('grants no wildcard action in any IAM policy', () => {
    // prepare
    const roles = byType(template, 'AWS::IAM::Role');

    // assess
    expect(roles.length).toBeGreaterThanOrEqual(8);
    for (const [id, role] of roles) {
      for (const action of actionsOf(role)) {
        expect(action, `${id}: ${action}`).not.toMatch(/\*/);
      }
    }
  });

  it('keeps the sweep on the status GSI: Query on the index, never Scan', () => {
    // prepare
    const sweep = resource('SweepRole');

    // assess
    expect(actionsOf(sweep)).toContain('dynamodb:Query');
    expect(actionsOf(sweep)).not.toContain('dynamodb:Scan');
    const query = statementsOf(sweep).find((statement) => statement.Action.includes('dynamodb:Query'));
    expect(JSON.stringify(query?.Resource)).toContain(`/index/${STATUS_INDEX}"`);
  });

  it('scopes the workflow roles to our table, topic, cluster and state machine', () => {
    // prepare
    const sessionEvents = JSON.stringify(statementsOf(resource('SessionEventsRole')));
    const launchStep = JSON.stringify(statementsOf(resource('LaunchStepRole')));
    const machine = JSON.stringify(statementsOf(resource('LaunchSessionStateMachineRole')));

    // assess
    expect(sessionEvents).toContain('"Ref":"AlertsTopic"');
    expect(sessionEvents).toContain('"Ref":"LaunchSessionStateMachine"');
    expect(sessionEvents).toContain('WorkflowStateTable');
    expect(launchStep).toContain('"Ref":"EcsCluster"');
    expect(launchStep).toContain('iam:PassedToService');
    expect(machine).toContain('LaunchStepLambdaFunction');
  });

  it('runs each suspects pass from the sweep pass queue, one link per invocation, with no reserved concurrency to throttle a link behind the full pass', () => {
    const mapping = resource('SweepEventSourceMappingSQSSweepPassQueue');
    const queue = resource('SweepPassQueue');
    const sweep = resource('SweepLambdaFunction');

    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['SweepPassQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['SweepLambdaFunction', 'Arn'] },
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(Number(sweep.Properties.Timeout));
    expect(sweep.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(JSON.stringify(sweep.Properties.Environment)).toContain(
      '"SWEEP_PASS_QUEUE_URL":{"Ref":"SweepPassQueue"}',
    );
  });

  it('runs the health sweep every minute', () => {
    // prepare
    const schedules = byType(template, 'AWS::Events::Rule').filter(
      ([, rule]) => rule.Properties.ScheduleExpression,
    );

    // assess
    expect(schedules.map(([, rule]) => rule.Properties.ScheduleExpression)).toContain('rate(1 minute)');
    expect(JSON.stringify(schedules)).toContain('SweepLambdaFunction');
  });

  it('feeds the stream processor with partial batch failures, bisection, bounded retries and a DLQ', () => {
    // prepare
    const mapping = resource('SessionEventsEventSourceMappingDynamodbWorkflowStateTable');

    // assess
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['WorkflowStateTable', 'StreamArn'] },
      FunctionName: { 'Fn::GetAtt': ['SessionEventsLambdaFunction', 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['SessionEventsDlq', 'Arn'] } } },
    });
    const [filter] =
      (mapping?.Properties.FilterCriteria as { Filters: { Pattern: string }[] } | undefined)?.Filters ?? [];
    expect(JSON.parse(filter?.Pattern ?? '{}')).toEqual({
      eventName: ['INSERT', 'MODIFY'],
      dynamodb: { NewImage: { item_type: { S: ['session'] } } },
    });
  });

  it('routes stopped tasks of our cluster to the ECS events function', () => {
    // prepare
    const rule = byType(template, 'AWS::Events::Rule').find(([, value]) => value.Properties.EventPattern);

    // assess
    expect(rule?.[1].Properties.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { clusterArn: [{ 'Fn::GetAtt': ['EcsCluster', 'Arn'] }], lastStatus: ['STOPPED'] },
    });
    expect(JSON.stringify(rule?.[1].Properties.Targets)).toContain('EcsEventsLambdaFunction');
  });

  it('defines the launch state machine from the ASL file with the launchStep function substituted', () => {
    // prepare
    const machine = resource('LaunchSessionStateMachine').Properties;
    const definition = (machine.DefinitionString as { 'Fn::Sub': string })['Fn::Sub'];

    // assess
    expect(machine.StateMachineName).toBe('tradai-launch-session-ci');
    expect(definition).toContain('arn:aws:states:::lambda:invoke.waitForTaskToken');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template
    expect(definition).toContain('${LaunchStepLambdaFunction.Arn}');
    expect(definition).not.toContain('#{');
  });

  it('defines the alerts topic and the seed §8 alarms on it', () => {
    // prepare
    const alarms = Object.fromEntries(
      byType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => [
        alarm.Properties.MetricName,
        alarm.Properties,
      ]),
    );

    // assess
    expect(resource('AlertsTopic').Type).toBe('AWS::SNS::Topic');
    expect(alarms.HeartbeatAgeSeconds).toMatchObject({
      Threshold: 180,
      Period: 60,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlertsTopic' }],
    });
    expect(alarms.ExchangeConnected).toMatchObject({
      Threshold: 1,
      Period: 60,
      EvaluationPeriods: 2,
      ComparisonOperator: 'LessThanThreshold',
    });
    expect(alarms.PnLDaily).toMatchObject({ Threshold: -500, ComparisonOperator: 'LessThanThreshold' });
  });

  it("pages when the sweep's pass chain keeps dying (re-seeded in consecutive 5-minute windows: only the minute's full pass then watches the heartbeats, and nothing said so)", () => {
    // prepare
    const alarms = byType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);

    // assess
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'TradAI/LiveTrading',
        MetricName: 'SweepChainSeeded',
        Dimensions: [{ Name: 'service', Value: 'tradai-control-plane' }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'AlertsTopic' }],
      }),
    );
  });

  it('defines the ECS cluster and a 1 vCPU / 2 GB task with a health check on 8004 and 30-day logs', () => {
    // prepare
    const task = resource('StrategyTaskDefinition').Properties;
    const [container] = task.ContainerDefinitions as Record<string, unknown>[];

    // assess
    expect(resource('EcsCluster').Type).toBe('AWS::ECS::Cluster');
    expect(task).toMatchObject({
      Cpu: '1024',
      Memory: '2048',
      NetworkMode: 'awsvpc',
      RequiresCompatibilities: ['FARGATE'],
    });
    expect(JSON.stringify(container?.HealthCheck)).toContain('localhost:8004/api/v1/health');
    expect(container?.PortMappings).toEqual([{ ContainerPort: 8004, Protocol: 'tcp' }]);
    expect(JSON.stringify(container?.Environment)).not.toMatch(/SECRET"|API_KEY|PASSWORD/);
    expect(resource('StrategyLogGroup').Properties).toMatchObject({ RetentionInDays: 30 });
  });

  it('lets only the load balancer reach port 8004 and only HTTPS out', () => {
    // prepare
    const group = resource('StrategySecurityGroup').Properties;

    // assess
    expect(group.SecurityGroupIngress).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 8004,
        ToPort: 8004,
        SourceSecurityGroupId: { Ref: 'LoadBalancerSecurityGroupId' },
      }),
    ]);
    expect(group.SecurityGroupEgress).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
    expect(template.Parameters).toHaveProperty('LoadBalancerSecurityGroupId');
  });

  it('keeps Freqtrade trade databases on an encrypted, backed-up EFS that outlives tasks and the stack', () => {
    // prepare
    const fileSystem = resource('TradeStoreFileSystem') as Resource & Record<string, unknown>;
    const accessPoint = resource('TradeStoreAccessPoint').Properties;
    const mountTargets = byType(template, 'AWS::EFS::MountTarget').map(([, value]) => value.Properties);

    // assess
    expect(fileSystem.Type).toBe('AWS::EFS::FileSystem');
    expect(fileSystem.DeletionPolicy).toBe('Retain');
    expect(fileSystem.UpdateReplacePolicy).toBe('Retain');
    expect(fileSystem.Properties).toMatchObject({ Encrypted: true, BackupPolicy: { Status: 'ENABLED' } });
    // Only TLS, and only through the access point.
    expect(JSON.stringify(fileSystem.Properties.FileSystemPolicy)).toContain('aws:SecureTransport');
    expect(accessPoint).toMatchObject({
      FileSystemId: { Ref: 'TradeStoreFileSystem' },
      RootDirectory: { Path: '/trade-store', CreationInfo: { OwnerUid: '1000', OwnerGid: '1000' } },
      PosixUser: { Uid: '1000', Gid: '1000' },
    });
    // One mount target in each private subnet the tasks run in.
    expect(mountTargets).toHaveLength(2);
    for (const [index, target] of mountTargets.entries()) {
      expect(target).toMatchObject({
        FileSystemId: { Ref: 'TradeStoreFileSystem' },
        SecurityGroups: [{ Ref: 'TradeStoreSecurityGroup' }],
      });
      expect(target.SubnetId).toEqual({
        'Fn::Select': [index, { 'Fn::Split': [',', { Ref: 'PrivateSubnetIds' }] }],
      });
    }
  });

  it('mounts the trade store in the strategy task over TLS with IAM, and lets only the task role reach it through the access point', () => {
    // prepare
    const task = resource('StrategyTaskDefinition').Properties;
    const [container] = task.ContainerDefinitions as Record<string, unknown>[];
    const grant = statementsOf(resource('StrategyTaskRole')).find((statement) =>
      JSON.stringify(statement.Action).includes('elasticfilesystem:ClientMount'),
    ) as (Statement & { Condition?: unknown }) | undefined;

    // assess
    expect(task.Volumes).toEqual([
      {
        Name: 'trade-store',
        EFSVolumeConfiguration: {
          FilesystemId: { Ref: 'TradeStoreFileSystem' },
          TransitEncryption: 'ENABLED',
          AuthorizationConfig: { AccessPointId: { Ref: 'TradeStoreAccessPoint' }, IAM: 'ENABLED' },
        },
      },
    ]);
    expect(container?.MountPoints).toEqual([
      { SourceVolume: 'trade-store', ContainerPath: '/mnt/trade-store', ReadOnly: false },
    ]);
    // The per-session revision sets TRADE_DB_URL per strategy; the base definition names none.
    expect(JSON.stringify(container?.Environment)).not.toContain('TRADE_DB_URL');
    expect(grant?.Action).toEqual(['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']);
    expect(grant?.Resource).toEqual({ 'Fn::GetAtt': ['TradeStoreFileSystem', 'Arn'] });
    expect(grant?.Condition).toEqual({
      StringEquals: {
        'elasticfilesystem:AccessPointArn': { 'Fn::GetAtt': ['TradeStoreAccessPoint', 'Arn'] },
      },
    });
  });

  it('opens NFS (2049) from the strategy tasks to the trade store mount targets, and nothing else to them', () => {
    // prepare
    const storeGroup = resource('TradeStoreSecurityGroup').Properties;
    const egress = byType(template, 'AWS::EC2::SecurityGroupEgress').map(([, value]) => value.Properties);

    // assess
    expect(storeGroup.SecurityGroupIngress).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 2049,
        ToPort: 2049,
        SourceSecurityGroupId: { Ref: 'StrategySecurityGroup' },
      }),
    ]);
    expect(egress).toContainEqual(
      expect.objectContaining({
        GroupId: { Ref: 'StrategySecurityGroup' },
        IpProtocol: 'tcp',
        FromPort: 2049,
        ToPort: 2049,
        DestinationSecurityGroupId: { Ref: 'TradeStoreSecurityGroup' },
      }),
    );
  });

  it('sends what the async functions gave up on (sweep, ECS events) to a dead-letter queue that pages', () => {
    // prepare
    const configs = byType(template, 'AWS::Lambda::EventInvokeConfig').map(([, value]) => value.Properties);
    const ecsRule = byType(template, 'AWS::Events::Rule').find(([, value]) => value.Properties.EventPattern);
    const alarms = byType(template, 'AWS::CloudWatch::Alarm').map(([, value]) => JSON.stringify(value));

    // assess
    for (const fn of ['SweepLambdaFunction', 'EcsEventsLambdaFunction']) {
      expect(configs, fn).toContainEqual(
        expect.objectContaining({
          FunctionName: { Ref: fn },
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['AsyncEventsDlq', 'Arn'] } } },
        }),
      );
    }
    // EventBridge itself could not deliver an ECS task event (cfn-lint ES4000 is ignored only for the sweep's schedule).
    expect(ecsRule?.[1].Properties.Targets).toEqual([
      expect.objectContaining({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['AsyncEventsDlq', 'Arn'] } } }),
    ]);
    expect(alarms.some((alarm) => alarm.includes('AsyncEventsDlq') && alarm.includes('AlertsTopic'))).toBe(
      true,
    );
  });

  it('serves the console from a private bucket that only its CloudFront distribution reads (OAC), never public', () => {
    // assess: the bucket blocks every kind of public access and is read only with the distribution's signature
    expect(resource('ConsoleBucket').Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const statements = (
      resource('ConsoleBucketPolicy').Properties.PolicyDocument as {
        Statement: { Effect: string; Principal: unknown; Action: string; Condition?: unknown }[];
      }
    ).Statement;
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
    });
    expect(JSON.stringify(allows[0]?.Condition)).toContain('ConsoleDistribution');
    expect(resource('ConsoleOriginAccessControl').Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
    });
    const config = resource('ConsoleDistribution').Properties.DistributionConfig as {
      Origins: {
        Id: string;
        OriginAccessControlId?: unknown;
        S3OriginConfig?: unknown;
        DomainName: unknown;
      }[];
      DefaultCacheBehavior: { TargetOriginId: string; ViewerProtocolPolicy: string };
      CacheBehaviors: { PathPattern: string; TargetOriginId: string; CachePolicyId: string }[];
    };
    const site = config.Origins.find((origin) => origin.Id === config.DefaultCacheBehavior.TargetOriginId);
    expect(site?.OriginAccessControlId).toEqual({ 'Fn::GetAtt': ['ConsoleOriginAccessControl', 'Id'] });
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    // assess: the API's paths go to the HTTP API uncached, so the page calls its own origin
    const api = config.Origins.find((origin) => origin.Id === 'operator-api');
    expect(JSON.stringify(api?.DomainName)).toContain('HttpApi');
    // Every route of the HTTP API is reachable through the distribution (a new top-level path needs a behavior).
    const globOf = (pattern: string) =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    const patterns = config.CacheBehaviors.map((behavior) => globOf(behavior.PathPattern));
    const paths = byType(template, 'AWS::ApiGatewayV2::Route').map(([, route]) =>
      String(route.Properties.RouteKey)
        .split(' ')[1]
        ?.replace(/\{\w+\}/g, 'x'),
    );
    expect(paths.length).toBeGreaterThan(5);
    expect(paths.filter((path) => !patterns.some((pattern) => pattern.test(path ?? '')))).toEqual([]);
    for (const behavior of config.CacheBehaviors) {
      expect(behavior.TargetOriginId).toBe('operator-api');
      expect(behavior.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad');
    }
  });

  it("logs the console in through the hosted UI (code flow, public client, back to the distribution only), and the authorizer accepts the console client's tokens", () => {
    // assess
    const client = resource('ConsoleUserPoolClient').Properties;
    expect(client).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      UserPoolId: { Ref: 'ApiUserPool' },
    });
    expect(client.AllowedOAuthScopes).toEqual(
      expect.arrayContaining(['tradai/strategies:read', 'tradai/strategies:write', 'tradai/strategies:live']),
    );
    const distribution = {
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': ['ConsoleDistribution', 'DomainName'] }, '/']],
    };
    expect(client.CallbackURLs).toEqual([distribution]);
    expect(client.LogoutURLs).toEqual([distribution]);
    const [, authorizer] = byType(template, 'AWS::ApiGatewayV2::Authorizer')[0] ?? [];
    expect(
      (authorizer?.Properties.JwtConfiguration as { Audience: unknown[] } | undefined)?.Audience,
    ).toEqual(expect.arrayContaining([{ Ref: 'ApiUserPoolClient' }, { Ref: 'ConsoleUserPoolClient' }]));
  });

  it('passes cfn-lint with the serverless rules; every exception is justified in .cfnlintrc.yaml', async () => {
    // act: cfn-lint exits non-zero when it finds anything, so read its JSON report either way.
    const report = await promisify(execFile)(
      join(ROOT, '.venv', 'bin', 'cfn-lint'),
      ['--format', 'json', '--', await packagedTemplateFile()],
      { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      if (error.stdout === undefined || error.stdout === '') throw error;
      return { stdout: error.stdout, stderr: error.stderr ?? '' };
    });

    // assess
    const findings = (
      JSON.parse(report.stdout) as { Rule: { Id: string }; Message: string; Location: { Path: unknown[] } }[]
    ).map((finding) => `${finding.Rule.Id} ${finding.Location.Path.join('/')}: ${finding.Message}`);
    expect(findings).toEqual([]);
  }, 120_000);
});
