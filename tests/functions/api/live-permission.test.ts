import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createControlHandler } from '../../../functions/api/control-strategy/handler';
import { createHandler as createStartHandler } from '../../../functions/api/start-strategy/handler';
import {
  ALL_SCOPES,
  type ApiTestEnv,
  errorOf,
  type Invoke,
  invoker,
  LIVE_GROUPS,
  LIVE_LIMITS,
  READ_SCOPES,
  runningSession,
  startApiTest,
  startBody,
  WRITE_SCOPES,
} from './support';

/** The tokens an operator can hold: scopes the app client grants, groups only an administrator grants. */
const TOKENS = {
  read: { scopes: READ_SCOPES },
  write: { scopes: WRITE_SCOPES },
  'write + live scope, no group': { scopes: ALL_SCOPES },
  'write + live group, no live scope': { scopes: WRITE_SCOPES, groups: LIVE_GROUPS },
  'live trader (scope and group)': { scopes: ALL_SCOPES, groups: LIVE_GROUPS },
} as const;
type TokenKind = keyof typeof TOKENS;

type RouteCase =
  | 'start live'
  | 'start dry-run'
  | 'resume live'
  | 'pause live'
  | 'stop live'
  | 'stop live with flatten'
  | 'resume dry-run';

const ACCEPTED = 202;
const FORBIDDEN = 403;

/** Risk-increasing on live: the live trader only. Risk-reducing on live, and anything dry-run: any writer. */
const EXPECTED: Record<RouteCase, Record<TokenKind, number>> = {
  'start live': {
    read: FORBIDDEN,
    write: FORBIDDEN,
    'write + live scope, no group': FORBIDDEN,
    'write + live group, no live scope': FORBIDDEN,
    'live trader (scope and group)': ACCEPTED,
  },
  'resume live': {
    read: FORBIDDEN,
    write: FORBIDDEN,
    'write + live scope, no group': FORBIDDEN,
    'write + live group, no live scope': FORBIDDEN,
    'live trader (scope and group)': ACCEPTED,
  },
  'start dry-run': {
    read: FORBIDDEN,
    write: ACCEPTED,
    'write + live scope, no group': ACCEPTED,
    'write + live group, no live scope': ACCEPTED,
    'live trader (scope and group)': ACCEPTED,
  },
  'resume dry-run': {
    read: FORBIDDEN,
    write: ACCEPTED,
    'write + live scope, no group': ACCEPTED,
    'write + live group, no live scope': ACCEPTED,
    'live trader (scope and group)': ACCEPTED,
  },
  'pause live': {
    read: FORBIDDEN,
    write: ACCEPTED,
    'write + live scope, no group': ACCEPTED,
    'write + live group, no live scope': ACCEPTED,
    'live trader (scope and group)': ACCEPTED,
  },
  'stop live': {
    read: FORBIDDEN,
    write: ACCEPTED,
    'write + live scope, no group': ACCEPTED,
    'write + live group, no live scope': ACCEPTED,
    'live trader (scope and group)': ACCEPTED,
  },
  'stop live with flatten': {
    read: FORBIDDEN,
    write: ACCEPTED,
    'write + live scope, no group': ACCEPTED,
    'write + live group, no live scope': ACCEPTED,
    'live trader (scope and group)': ACCEPTED,
  },
};

const CASES = (Object.keys(EXPECTED) as RouteCase[]).flatMap((route) =>
  (Object.keys(TOKENS) as TokenKind[]).map((token) => [route, token, EXPECTED[route][token]] as const),
);

describe('Live permission per person: route × token kind', () => {
  let env: ApiTestEnv;
  let start: Invoke;
  let control: Invoke;
  let seq = 0;

  beforeAll(async () => {
    env = await startApiTest();
    start = invoker(createStartHandler(env.deps));
    control = invoker(createControlHandler(env.deps));
  });
  afterAll(async () => env.close());

  const act = async (route: RouteCase, token: TokenKind) => {
    seq += 1;
    const strategyId = `perm-${seq}`;
    const auth = TOKENS[token];
    if (route === 'start live' || route === 'start dry-run') {
      const body =
        route === 'start live' ? startBody({ mode: 'live', risk_limits: LIVE_LIMITS }) : startBody();
      return {
        strategyId,
        response: await start({
          method: 'POST',
          route: '/strategies/{strategyId}/start',
          params: { strategyId },
          body,
          ...auth,
        }),
      };
    }
    const mode = route.endsWith('dry-run') ? 'dry-run' : 'live';
    const session = await runningSession(env, strategyId, { mode });
    if (route.startsWith('resume')) await env.deps.store.setDesiredState(session.run_id, 'paused', 'test');
    const action = route.split(' ')[0] as 'pause' | 'resume' | 'stop';
    const body = route === 'stop live with flatten' ? { flatten: true } : {};
    return {
      strategyId,
      response: await control({
        method: 'POST',
        route: `/strategies/{strategyId}/${action}`,
        params: { strategyId },
        body,
        ...auth,
      }),
    };
  };

  it.each(CASES)(
    '%s with a %s token answers %i (an emergency pause never needs the live scope; any invited user could otherwise ask for strategies:live and trade)',
    async (route, token, expected) => {
      // prepare
      const before = await env.snapshot();

      // act
      const { response } = await act(route, token);

      // assess
      expect(response.statusCode, JSON.stringify(response.body)).toBe(expected);
      if (expected === FORBIDDEN && token !== 'read') {
        expect(errorOf(response).code).toBe('live_permission_required');
        if (!TOKENS[token].scopes.includes('tradai/strategies:live'))
          expect(errorOf(response).message).toContain('strategies:live');
        if (!('groups' in TOKENS[token])) expect(errorOf(response).message).toContain('tradai-live');
      }
      if (expected === FORBIDDEN && route.startsWith('start')) {
        const after = await env.snapshot();
        expect(after.sessions).toEqual(before.sessions);
      }
    },
  );
});
