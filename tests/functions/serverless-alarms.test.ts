import { beforeAll, describe, expect, it } from 'vitest';
import { loadServerlessConfig } from '../../local/serverless/config';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('serverless.yml: alarms and permissions of the supervision functions', () => {
  let resources: Record<string, Resource>;
  let functions: Record<string, unknown>;
  beforeAll(async () => {
    const config = await loadServerlessConfig({ stage: 'dev', region: 'eu-central-1' });
    resources = config.resources.Resources as unknown as Record<string, Resource>;
    functions = (config as unknown as { functions: Record<string, unknown> }).functions;
  });
  const alarmsOn = (metric: string) =>
    Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::CloudWatch::Alarm' && resource.Properties.MetricName === metric,
    );
  const statementsOf = (role: string) =>
    (
      (resources[role]?.Properties.Policies ?? []) as {
        PolicyDocument: { Statement: { Action: string[]; Resource: unknown; Condition?: unknown }[] };
      }[]
    ).flatMap((policy) => policy.PolicyDocument.Statement);

  it.each([
    ['sweep', 'Errors'],
    ['sweep', 'Throttles'],
    ['sessionEvents', 'Errors'],
    ['sessionEvents', 'Throttles'],
  ])('pages on %s %s (a failing sweep or stream processor was silent)', (fn, metric) => {
    // act
    const alarm = alarmsOn(metric).find((candidate) =>
      JSON.stringify(candidate.Properties.Dimensions).includes(`-dev-${fn}"`),
    );

    // assess
    expect(alarm?.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlertsTopic' }],
    });
    expect(JSON.stringify(alarm?.Properties.Dimensions)).toContain(`tradai-control-plane-dev-${fn}`);
  });

  it('treats a missing heartbeat-age figure as breaching: the sweep emits it on every run, so missing means nobody watches', () => {
    // act
    const [alarm] = alarmsOn('HeartbeatAgeSeconds');

    // assess
    expect(alarm?.Properties.TreatMissingData).toBe('breaching');
  });

  it('lets the functions that free locks ask ECS whether the container is gone, in our cluster only', () => {
    // assess
    for (const role of ['SessionEventsRole', 'SweepRole', 'LaunchStepRole', 'EcsEventsRole']) {
      const listTasks = statementsOf(role).find((statement) => statement.Action.includes('ecs:ListTasks'));
      expect(JSON.stringify(listTasks?.Condition), role).toContain('EcsCluster');
      expect(
        statementsOf(role).some((statement) => statement.Action.includes('ecs:DescribeTasks')),
        role,
      ).toBe(true);
    }
  });

  it.each(['sessionEvents', 'sweep', 'ecsEvents', 'launchStep'])(
    'gives %s the ECS settings its container platform is built from (ecs-events asked ECS with none)',
    (name) => {
      // act
      const environment = Object.keys(
        (functions[name] as { environment?: Record<string, unknown> } | undefined)?.environment ?? {},
      );

      // assess
      for (const variable of ['ECS_CLUSTER', 'ECS_TASK_DEFINITION', 'ECS_SUBNETS', 'ECS_SECURITY_GROUPS'])
        expect(environment, `${name}: ${variable}`).toContain(variable);
    },
  );

  it('lets the task write lease items for its claim, and no other item', () => {
    // act
    const puts = statementsOf('StrategyTaskRole').filter(
      (statement) =>
        statement.Action.includes('dynamodb:PutItem') &&
        JSON.stringify(statement.Resource).includes('WorkflowState'),
    );

    // assess
    expect(puts).toHaveLength(1);
    expect(JSON.stringify(puts[0]?.Condition)).toContain('lease#*');
  });
});
