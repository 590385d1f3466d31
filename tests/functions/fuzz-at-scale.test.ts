import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createStartHandler } from '../../functions/api/start-strategy/handler';
import {
  type EventFuzzEnv,
  type HttpFuzzEnv,
  runFuzzTarget,
  startEventFuzz,
  startHttpFuzz,
} from '../support/fuzz-targets';
import { ALL_SCOPES, errorOf, invoker, LIVE_LIMITS, startBody } from './api/support';

/**
 * Issue 10 item 8, bounded for CI: 100 seeded cases per target (bench/fuzz.ts runs 10,000). Every route
 * body, path parameter, header and token kind, and every parser of external input: no 5xx or untyped
 * crash, and a refused input changes nothing.
 */
const CI_RUNS = 100;
const SEED = 20261201;

/** No fault, and no state change on a refused case; the first offending case named when there is one. */
const expectNoFaultNorRefusedChange = (name: string, report: Awaited<ReturnType<typeof runFuzzTarget>>) => {
  expect({ target: name, faults: report.faults, first: report.first_fault }).toEqual({
    target: name,
    faults: 0,
    first: undefined,
  });
  expect({
    target: name,
    changes: report.state_changes_on_refused,
    first: report.first_state_change,
  }).toEqual({
    target: name,
    changes: 0,
    first: undefined,
  });
};

describe('Fuzz at scale (CI-bounded)', () => {
  let http: HttpFuzzEnv;
  let events: EventFuzzEnv;
  beforeAll(async () => {
    http = await startHttpFuzz();
    events = await startEventFuzz(http.env);
  });
  afterAll(async () => {
    await events?.close();
    await http?.close();
  });

  it('answers 400, not 500, to a risk limit above 2^53 (found by the fuzz: the SDK marshaller refuses numbers DynamoDB could store)', async () => {
    // prepare
    const invoke = invoker(createStartHandler(http.env.deps));
    const before = await http.env.snapshot();

    // act
    const response = await invoke({
      method: 'POST',
      route: '/strategies/{strategyId}/start',
      params: { strategyId: 'fz-huge-number' },
      body: startBody({
        mode: 'dry-run',
        risk_limits: { ...LIVE_LIMITS, max_daily_loss: 9.214501308050567e44 },
      }),
      scopes: ALL_SCOPES,
    });

    // assess
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details?.map((issue) => issue.field)).toEqual(['risk_limits.max_daily_loss']);
    expect(await http.env.snapshot()).toEqual(before);
  });

  it('every HTTP target: no 5xx, no stack trace, no state change on a refused request; both outcomes seen', async () => {
    for (const target of http.targets) {
      const report = await runFuzzTarget(target, { numRuns: CI_RUNS, seed: SEED });
      expectNoFaultNorRefusedChange(target.name, report);
      expect(report.refused, target.name).toBeGreaterThan(0);
      expect(report.accepted, target.name).toBeGreaterThan(0);
      // The meter sees changes at all: accepted commands change the session (reads never do).
      if (target.name.startsWith('http POST'))
        expect(report.state_changes_on_accepted, target.name).toBeGreaterThan(0);
      else expect(report.state_changes_on_accepted, target.name).toBe(0);
    }
  });

  it('every parser target: only typed refusals, and no state change on refused events', async () => {
    expect(events.targets.length).toBeGreaterThanOrEqual(10);
    for (const target of events.targets) {
      const report = await runFuzzTarget(target, { numRuns: CI_RUNS, seed: SEED });
      expectNoFaultNorRefusedChange(target.name, report);
      expect(report.cases, target.name).toBe(CI_RUNS);
    }
  });
});
