import { beforeAll, describe, expect, it } from 'vitest';
import { packagedTemplate, type Template, type TemplateResource } from './support/packaged-template.js';

/** `osls package` offline (once per set of inputs): what a deploy would send for the promote function and the launch step. */
describe('Packaging: the promote function reaches a private MLflow; the handoff waits for the task StopTimeout', () => {
  let template: Template;
  const resource = (id: string): TemplateResource => {
    const found = template.Resources[id];
    if (found === undefined) throw new Error(`no resource ${id}`);
    return found;
  };
  const environmentOf = (id: string) =>
    (resource(id).Properties.Environment as { Variables: Record<string, unknown> }).Variables;

  beforeAll(async () => {
    template = await packagedTemplate();
  }, 180_000);

  it('runs the promote function in the private subnets behind its own security group, with the token secret ARN in MLFLOW_TRACKING_TOKEN', () => {
    const promote = resource('PromoteStrategyLambdaFunction').Properties;

    expect(promote.VpcConfig).toEqual({
      SubnetIds: { 'Fn::Split': [',', { Ref: 'PrivateSubnetIds' }] },
      SecurityGroupIds: [{ Ref: 'PromoteStrategySecurityGroup' }],
    });
    expect(environmentOf('PromoteStrategyLambdaFunction')).toMatchObject({
      MLFLOW_TRACKING_URI: { Ref: 'MlflowTrackingUri' },
      MLFLOW_TRACKING_TOKEN: { Ref: 'MlflowTokenSecretArn' },
    });
  });

  it("lets the promote function out to MLflow's port and HTTPS only, and nothing in", () => {
    const group = resource('PromoteStrategySecurityGroup').Properties;

    expect(group.SecurityGroupIngress).toBeUndefined();
    expect(group.SecurityGroupEgress).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: { Ref: 'MlflowPort' },
        ToPort: { Ref: 'MlflowPort' },
        DestinationSecurityGroupId: { Ref: 'MlflowSecurityGroupId' },
      }),
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }),
    ]);
  });

  it("gives the launch step the strategy task's StopTimeout: a handoff never gives up on a forced stop before ECS's SIGKILL", () => {
    const containers = resource('StrategyTaskDefinition').Properties.ContainerDefinitions as {
      Name: string;
      StopTimeout?: number;
    }[];
    const stopTimeout = containers.find((container) => container.Name === 'strategy')?.StopTimeout;

    expect(stopTimeout).toBeGreaterThan(0);
    expect(Number(environmentOf('LaunchStepLambdaFunction').TASK_STOP_TIMEOUT_S)).toBe(stopTimeout);
    // The sweep's launch limit for a handoff includes the same wait: it must not fail a successor before.
    expect(Number(environmentOf('SweepLambdaFunction').TASK_STOP_TIMEOUT_S)).toBe(stopTimeout);
  });
});
