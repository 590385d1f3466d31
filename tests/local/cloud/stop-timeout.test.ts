import { describe, expect, it } from 'vitest';
import { taskStopTimeoutMsOf } from '../../../local/cloud/cloud';
import { loadServerlessConfig } from '../../../local/serverless/config';

describe('Local cloud: how long a stopped task drains', () => {
  it("drains for the task definition's StopTimeout (120 s), not ECS's 30 s default (a stopping bot trades on until then in AWS)", async () => {
    // Prepare
    const config = await loadServerlessConfig({ stage: 'dev' });

    // Act
    const stopTimeoutMs = taskStopTimeoutMsOf(config.resources.Resources);

    // Assess
    expect(stopTimeoutMs).toBe(120_000);
  });

  it("takes ECS's 30 s for a container that sets no StopTimeout", () => {
    // Act
    const stopTimeoutMs = taskStopTimeoutMsOf({
      Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { ContainerDefinitions: [{ Name: 'agent' }] } },
    });

    // Assess
    expect(stopTimeoutMs).toBe(30_000);
  });
});
