import type * as z from 'zod';
import type { ScopeChangeResultSchema } from '../../../functions/api/trading-scope/schema';

type ScopeChangeReply = z.output<typeof ScopeChangeResultSchema>;
type HeldSession = ScopeChangeReply['sessions']['held'][number];

/**
 * A fleet resume's answer as POST /fleet/resume gives it (functions/api/trading-scope/schema.ts): one
 * session released, and `held` the sessions it left paused because their agent is held.
 */
export const fleetResumed = (held: HeldSession[]): ScopeChangeReply => ({
  scope: 'fleet',
  account_id: null,
  state: 'active',
  generation: 2,
  previous_state: 'reducing',
  changed_by: 'alice',
  reason: 'drill over',
  changed_at: '2026-01-01T00:05:00.000Z',
  changed: true,
  sessions: {
    acted: [{ run_id: 'live-a-1', strategy_id: 'a', trading_mode: 'live', action: 'release', note: null }],
    untouched: [],
    held,
    failed: [],
    confirmed: [],
    unconfirmed: [],
  },
  confirm_timeout_s: 30,
});
