import * as z from 'zod';

/**
 * The handoff record of a rolled strategy (issue 13 items 2 and 3): its phases and their transitions as
 * data. The successor session carries it from creation; the predecessor carries `superseded_by` from
 * then, and a copy of the record from its retirement on (its agent then stops by the handoff plan). Kept apart from session.ts, which imports it (as agent-report.ts):
 * no import cycle. The decisions that use it are in deploy.ts.
 */

export const HANDOFF_MODES = ['carry_positions', 'wait_flat'] as const;
export const HandoffModeSchema = z.enum(HANDOFF_MODES);
export type HandoffMode = z.infer<typeof HandoffModeSchema>;

/** deploy: another version; restart: the same version, fresh task and credentials; rollback: after a failed one. */
export const HandoffKindSchema = z.enum(['deploy', 'restart', 'rollback']);
export type HandoffKind = z.infer<typeof HandoffKindSchema>;

export const HANDOFF_PHASES = [
  /** The successor exists; its predecessor still trades. */
  'requested',
  /** The predecessor was asked to stop (entries off, wait_flat: its trades closing). */
  'retiring',
  /** The predecessor's session is over and its container gone: the successor's container may start. */
  'predecessor_gone',
  /** The successor's first heartbeat: it trades. */
  'live',
  /** The successor did not come up; a rollback session runs the predecessor's version again. */
  'rolled_back',
  /** The handoff ended without a successor trading and without a rollback (named in status_reason). */
  'failed',
] as const;
export const HandoffPhaseSchema = z.enum(HANDOFF_PHASES);
export type HandoffPhase = z.infer<typeof HandoffPhaseSchema>;

export const HANDOFF_TRANSITIONS: Readonly<Record<HandoffPhase, readonly HandoffPhase[]>> = {
  // A successor that fails before its record says predecessor_gone, its predecessor already over, rolls back.
  requested: ['retiring', 'rolled_back', 'failed'],
  retiring: ['predecessor_gone', 'rolled_back', 'failed'],
  predecessor_gone: ['live', 'rolled_back', 'failed'],
  live: [],
  rolled_back: [],
  failed: [],
};

export const canAdvanceHandoff = (from: HandoffPhase, to: HandoffPhase): boolean =>
  from === to || HANDOFF_TRANSITIONS[from].includes(to);

/** How long an agent may wait for its trades to close before the handoff carries what is left. */
export const MAX_WAIT_FLAT_S = 3600;

export const HandoffSchema = z.object({
  kind: HandoffKindSchema,
  mode: HandoffModeSchema,
  /** wait_flat's bound; 0 for carry_positions. */
  wait_flat_s: z.number().int().min(0).max(MAX_WAIT_FLAT_S),
  phase: HandoffPhaseSchema,
  /** The run the handoff replaces: lock, leases and open trades pass from it. */
  from_run_id: z.string().max(80),
  /** The run that takes over (on the predecessor's copy: its successor). */
  to_run_id: z.string().max(80),
  /** A rollback: the run whose failure it answers. */
  rollback_of: z.string().max(80).nullable(),
  requested_at: z.iso.datetime({ offset: false }),
  reason: z.string().max(1024).nullable(),
  /**
   * A failed handoff whose predecessor's container was still running after its forced stop (the platform's
   * StopTimeout and a margin): that run may still trade, so nothing was started beside it.
   */
  stuck_run_id: z.string().max(80).nullable().optional(),
});
export type Handoff = z.infer<typeof HandoffSchema>;

/** Which model version a session runs: exactly one of an exact version, an alias or a stage. */
export const VersionSelectionSchema = z.strictObject({
  model_version: z
    .string()
    .regex(/^\d{1,10}$/, 'must be a registry version number')
    .nullable(),
  alias: z.string().min(1).max(128).nullable(),
  stage: z.string().min(1).max(64).nullable(),
});
export type VersionSelection = z.infer<typeof VersionSelectionSchema>;
