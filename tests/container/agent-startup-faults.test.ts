import { describe, expect, it } from 'vitest';
import { type ConfigSource, createConfigSource } from '../../container/agent/config/config-source';
import {
  createModelRegistry,
  MlflowRegistryError,
  type ModelRegistry,
} from '../../container/agent/config/mlflow';
import { EXIT } from '../../container/agent/constants';
import {
  isTransientStartupFault,
  SecretsError,
  StrategyConfigError,
  StrategyConfigValidationError,
} from '../../container/agent/errors';
import { FileSecretSource, type SecretSource } from '../../container/agent/secrets';
import { ManualClock } from '../../shared/domain/clock';
import { useAgentFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

/** Fails the first `times` calls with `fault`, then behaves as `real`. */
const flaky = <T extends object>(real: T, method: keyof T, times: number, fault: () => Error) => {
  const state = { calls: 0 };
  const proxy = new Proxy(real, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        state.calls += 1;
        if (state.calls <= times) return Promise.reject(fault());
        return value.apply(target, args);
      };
    },
  });
  return { proxy, state };
};

describe('Agent: transient start-up faults (issue 8 finding 8)', () => {
  const { fx, agents, sims } = useAgentFixture();

  /** An injected clock whose sleeps pass at once: backoff without real waiting. */
  const instantTime = () => {
    const clock = new ManualClock();
    const slept: number[] = [];
    return {
      clock,
      slept,
      sleep: async (ms: number) => {
        slept.push(ms);
        clock.advance(ms);
      },
    };
  };

  const prepared = async () => {
    const sim = await startSim();
    sims.push(sim);
    const { runId, options } = await fx.session();
    return { sim, runId, options: { ...options, attach: attachTo(sim) } };
  };

  it('retries an MLflow that is unreachable and starts, leaving the session running (it was failed at the first fault)', async () => {
    // prepare
    const { runId, options } = await prepared();
    const registry = flaky(
      createModelRegistry({ trackingUri: options.mlflow.uri }) as ModelRegistry,
      'getModelVersion',
      3,
      () =>
        new MlflowRegistryError('unavailable', 'MLflow at http://mlflow:5000 is unreachable: ECONNREFUSED'),
    );
    const time = instantTime();
    // act
    const agent = await startAgent(options, {
      store: fx.store,
      registry: registry.proxy,
      sleep: time.sleep,
    });
    agents.push(agent);
    // assess
    await pollUntil('claimed and heartbeating', async () => (await fx.store.get(runId))?.heartbeat_seq);
    expect(registry.state.calls).toBe(4);
    expect(time.slept.length).toBe(3);
    expect((await fx.store.get(runId))?.status).toBe('running');
    expect(agent.exits).toEqual([]);
  });

  it('retries Secrets Manager throttling and an S3 timeout the same way', async () => {
    // prepare
    const { runId, options } = await prepared();
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    const secrets = flaky(
      new FileSecretSource(options.secretsFile ?? '') as SecretSource,
      'getExchangeCredentials',
      2,
      () =>
        new SecretsError('cannot read secret tradai/exchange/binance: ThrottlingException', {
          cause: throttled,
        }),
    );
    const timedOut = Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    const source = flaky(
      (await createConfigSource(options.configBucket)) as ConfigSource,
      'readJson',
      2,
      () =>
        new StrategyConfigError('configuration_file', 'cannot read s3://configs/base.json: TimeoutError', {
          cause: timedOut,
        }),
    );
    const time = instantTime();
    // act
    const agent = await startAgent(options, {
      store: fx.store,
      secrets: secrets.proxy,
      configSource: source.proxy,
      sleep: time.sleep,
    });
    agents.push(agent);
    // assess
    await pollUntil('claimed and heartbeating', async () => (await fx.store.get(runId))?.heartbeat_seq);
    expect(secrets.state.calls).toBe(3);
    expect(source.state.calls).toBeGreaterThanOrEqual(3);
    expect((await fx.store.get(runId))?.status).toBe('running');
  });

  it('gives up after the bound with a fault exit, without failing the session (stale alerts apply)', async () => {
    // prepare
    const { runId, options } = await prepared();
    const registry = flaky(
      createModelRegistry({ trackingUri: options.mlflow.uri }) as ModelRegistry,
      'getModelVersion',
      10_000,
      () => new MlflowRegistryError('unavailable', 'MLflow answered HTTP 503', { status: 503 }),
    );
    const time = instantTime();
    // act
    const agent = await startAgent(
      { ...options, startupRetryS: 60 },
      { store: fx.store, registry: registry.proxy, sleep: time.sleep, clock: time.clock },
    );
    const code = await agent.handle.done;
    // assess
    expect(code).toBe(EXIT.fault);
    expect((await fx.store.get(runId))?.status).toBe('running');
    expect(time.slept.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(60_000);
    expect(registry.state.calls).toBeGreaterThan(2);
  });

  it('still fails the session at once on a bad config (a validation error is no transient fault)', async () => {
    // prepare
    const { runId, options } = await fx.session({ overrides: { stake_amount: -5 } });
    const time = instantTime();
    // act
    const agent = await startAgent(options, { store: fx.store, sleep: time.sleep });
    const code = await agent.handle.done;
    // assess
    expect(code).toBe(EXIT.configuration);
    expect((await fx.store.get(runId))?.status).toBe('failed');
    expect(time.slept).toEqual([]);
  });
});

describe('isTransientStartupFault', () => {
  const aws = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  it.each([
    ['MLflow unavailable', new MlflowRegistryError('unavailable', 'HTTP 503', { status: 503 }), true],
    ['MLflow not found', new MlflowRegistryError('not_found', 'no model'), false],
    [
      'S3 5xx behind a config error',
      new StrategyConfigError('configuration_file', 'x', { cause: aws('InternalError', 500) }),
      true,
    ],
    [
      'S3 access denied',
      new StrategyConfigError('configuration_file', 'x', { cause: aws('AccessDenied', 403) }),
      false,
    ],
    ['Secrets Manager throttled', new SecretsError('x', { cause: aws('ThrottlingException', 400) }), true],
    ['secret missing', new SecretsError('x', { cause: aws('ResourceNotFoundException', 400) }), false],
    ['socket refused', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), true],
    ['a plain bug', new TypeError('undefined is not a function'), false],
    [
      'a validation error',
      new StrategyConfigValidationError('config', [{ path: 'stake_amount', message: 'x' }]),
      false,
    ],
  ])('%s', (_what, error, transient) => {
    expect(isTransientStartupFault(error)).toBe(transient);
  });
});
