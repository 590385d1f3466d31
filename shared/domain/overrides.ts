import * as z from 'zod';

/**
 * What a start's `overrides` may change in the registry's Freqtrade config: stake and trade limits and
 * timeframe-independent exit tuning, each with a bounded value. Everything else is refused at the API,
 * because a merged override reaches Freqtrade's config as is: credentials (`exchange.*`, `ccxt_config`),
 * another strategy class, where trades are stored (`db_url`, `user_data_dir`), who may control the bot
 * (`api_server`, `telegram`, `webhook`) or whether it trades real money (`dry_run`, `initial_state`) are
 * the registry's and the platform's to set, never a start request's. Not allowed either, deliberately:
 * `order_types` (market exits and stoplosses on the exchange change what a pause or flatten can do) and
 * `pairlists` (would trade pairs the model was not registered for, outside its account lease).
 */
const Ratio = z.number().gt(0).max(1);

/** Minutes since entry → minimum profit ratio to exit; Freqtrade's keys are whole minutes as strings. */
const MinimalRoiSchema = z
  .record(z.string().regex(/^\d{1,6}$/, 'must be whole minutes, e.g. "30"'), z.number().min(-1).max(100))
  .refine((roi) => Object.keys(roi).length <= 50, 'must have at most 50 steps');

const UnfilledTimeoutSchema = z.strictObject({
  entry: z.number().int().min(1).max(86_400).optional(),
  exit: z.number().int().min(1).max(86_400).optional(),
  unit: z.enum(['minutes', 'seconds']).optional(),
  exit_timeout_count: z.number().int().min(0).max(100).optional(),
});

/**
 * Parameters only the local Freqtrade simulator (`sim`) and the demo strategy (`tradai_demo`) read; real
 * Freqtrade ignores them. Their contents are the simulator's and the strategy's to validate; here they are
 * bounded JSON (the API's body checks bound numbers and depth) without credential-like keys.
 */
const OpaqueBlockSchema = z.record(z.string().min(1).max(128), z.unknown());

export const SessionOverridesSchema = z.strictObject({
  stake_amount: z.union([z.number().gte(0.000001).max(1e12), z.literal('unlimited')]).optional(),
  max_open_trades: z.number().int().min(-1).max(1000).optional(),
  tradable_balance_ratio: Ratio.optional(),
  available_capital: z.number().gte(0.000001).max(1e12).optional(),
  minimal_roi: MinimalRoiSchema.optional(),
  /** A ratio below the entry price: -0.1 exits at a 10 % loss. */
  stoploss: z.number().gte(-1).lt(0).optional(),
  trailing_stop: z.boolean().optional(),
  trailing_stop_positive: z.number().gt(0).lt(1).optional(),
  trailing_stop_positive_offset: z.number().min(0).lt(1).optional(),
  trailing_only_offset_is_reached: z.boolean().optional(),
  unfilledtimeout: UnfilledTimeoutSchema.optional(),
  internals: z
    .strictObject({ process_throttle_secs: z.number().int().min(1).max(3600).optional() })
    .optional(),
  sim: OpaqueBlockSchema.optional(),
  tradai_demo: OpaqueBlockSchema.optional(),
});
export type SessionOverrides = z.infer<typeof SessionOverridesSchema>;

/** The top-level keys a session may override, for documentation and error messages. */
export const OVERRIDABLE_KEYS: readonly string[] = Object.keys(SessionOverridesSchema.shape);

/** Names that hold secrets in Freqtrade, ccxt or their plugins, wherever they appear. */
const CREDENTIAL_KEY =
  /^(?:key|secret|password|passphrase|uid|token|api_?key|api_?secret|private_?key|wallet_?address|jwt_secret_key|ws_token|access_?token|chat_id)$/i;

/** Paths, inside the overrides, of keys named like credentials (depth-bounded by the caller's body checks). */
export const credentialPathsOf = (value: unknown, path: readonly string[] = []): string[][] => {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value)
    ? value.map((item, index) => [String(index), item] as const)
    : Object.entries(value);
  return entries.flatMap(([key, child]) =>
    CREDENTIAL_KEY.test(key) ? [[...path, key]] : credentialPathsOf(child, [...path, key]),
  );
};

/** The allow-list plus: no credential-like key anywhere, not even inside the opaque blocks. */
export const CheckedOverridesSchema = SessionOverridesSchema.superRefine((overrides, context) => {
  for (const path of credentialPathsOf(overrides)) {
    context.addIssue({
      code: 'custom',
      path,
      message: 'looks like a credential: credentials come from the exchange secret, never from a start',
    });
  }
});
