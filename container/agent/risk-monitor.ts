import {
  type Breach,
  decideRiskResponse,
  evaluateRisk,
  type ResumeRecord,
  type RiskAction,
  type RiskAssessment,
  type RiskLimits,
  type RiskResponse,
  type RiskSnapshot,
  type RiskState,
} from '../../shared/domain/risk';
import type { DesiredState } from '../../shared/domain/session';

export interface RiskDecision {
  assessment: RiskAssessment;
  /** A ladder step newly taken at this poll (act on it, then report at once), or null. */
  newStep: RiskAction | null;
  response: RiskResponse | null;
}

/**
 * The agent's first line of risk control (seed §8 C3), around the shared pure evaluateRisk and the
 * breach ladder. A breach latches a response (pause → flatten → stop as the strategy configures).
 *
 * Resume rule: only the operator clears a latch, and only by a resume that happened after the breach.
 * The agent recognises that as desired_state seen `paused` after the latch was set and then seen
 * `running` (the stream handler, or the operator, pauses the session on a breach; the operator's
 * resume flips it back), or as desired_state `running` whose last change (desired_state_changed_at) came
 * after the breach. A desired_state that was `running` all along is the intent from before the breach
 * and does not undo it.
 */
export class RiskMonitor {
  #limits: RiskLimits;
  #response: RiskResponse | null;
  #breaches: Breach[];
  #breachedAt: string | null;
  #pausedSinceBreach: boolean;
  #lastAssessment: RiskAssessment = { breached: false, breaches: [] };
  /** The intent and its stamp as last read: a change back to running is an operator's resume. */
  #lastDesired: DesiredState;
  #lastChangedAt: string | null | undefined;
  /** A resume seen, waiting for the next poll's daily PnL (the losses acknowledged by then). */
  #pendingResume: { at: string | null } | undefined;
  #resumed: ResumeRecord | null;

  constructor(limits: RiskLimits, previous: RiskState | null, desiredAtStart: DesiredState) {
    this.#lastDesired = desiredAtStart;
    this.#resumed = previous?.resumed ?? null;
    this.#limits = limits;
    // A restarted agent keeps the latch its predecessor reported: a crash must not clear a breach.
    const inherited = previous?.state === 'breached' && previous.response !== null;
    this.#response = inherited ? previous.response : null;
    this.#breaches = inherited ? previous.breaches : [];
    this.#breachedAt = inherited ? (previous.breached_at ?? previous.response?.at ?? null) : null;
    this.#pausedSinceBreach = inherited && desiredAtStart === 'paused';
  }

  get limits(): RiskLimits {
    return this.#limits;
  }

  /** Limits may be tightened on the session while it runs; they are re-read with it. */
  setLimits(limits: RiskLimits): void {
    this.#limits = limits;
  }

  get response(): RiskResponse | null {
    return this.#response;
  }

  get latched(): boolean {
    return this.#response !== null;
  }

  evaluate(snapshot: RiskSnapshot, nowMs: number): RiskDecision {
    if (this.#pendingResume !== undefined) {
      const at = this.#pendingResume.at ?? new Date(nowMs).toISOString();
      this.#resumed = { at, daily_pnl: snapshot.daily_pnl };
      this.#pendingResume = undefined;
    }
    const assessment = evaluateRisk(this.#limits, snapshot);
    this.#lastAssessment = assessment;
    const previous = this.#response;
    const response = decideRiskResponse(this.#limits, assessment, previous, snapshot.exposure, nowMs);
    let newStep: RiskAction | null = null;
    if (response !== null && (previous === null || response.step !== previous.step)) {
      newStep = response.step;
      if (previous === null) {
        this.#breachedAt = response.at;
        this.#pausedSinceBreach = false;
      }
    }
    if (assessment.breached) this.#breaches = assessment.breaches.slice(0, 10);
    this.#response = response;
    return { assessment, newStep, response };
  }

  /**
   * Feeds every desired_state the agent reads, with when it last changed; returns true when the operator
   * has just resumed past the latch: either the agent saw paused → running since the breach, or the intent
   * was last changed, to running, after the breach (a pause and resume between two polls).
   */
  observeDesired(desired: DesiredState, changedAt: string | null = null): boolean {
    this.#noteResume(desired, changedAt);
    if (this.#response === null) return false;
    if (desired === 'paused') {
      this.#pausedSinceBreach = true;
      return false;
    }
    const resumedAfterBreach =
      changedAt !== null && this.#breachedAt !== null && Date.parse(changedAt) > Date.parse(this.#breachedAt);
    if (desired === 'running' && (this.#pausedSinceBreach || resumedAfterBreach)) {
      this.#response = null;
      this.#breaches = [];
      this.#breachedAt = null;
      this.#pausedSinceBreach = false;
      this.#lastAssessment = { breached: false, breaches: [] };
      return true;
    }
    return false;
  }

  /**
   * Any operator resume (paused → running, or a new stamp of a running intent: a pause and a resume
   * between two reads, as the store stamps only real changes) is recorded for the platform high-loss
   * floor, which counts the loss from there (decideHighLossPause).
   */
  #noteResume(desired: DesiredState, changedAt: string | null): void {
    const stampChanged =
      this.#lastChangedAt !== undefined && changedAt !== null && changedAt !== this.#lastChangedAt;
    if (desired === 'running' && (this.#lastDesired === 'paused' || stampChanged)) {
      this.#pendingResume = { at: changedAt };
    }
    this.#lastDesired = desired;
    this.#lastChangedAt = changedAt;
  }

  state(snapshot: RiskSnapshot | null): RiskState {
    const breached = this.#response !== null || this.#lastAssessment.breached;
    return {
      state: breached ? 'breached' : 'ok',
      snapshot,
      breaches: breached
        ? (this.#lastAssessment.breached ? this.#lastAssessment.breaches : this.#breaches).slice(0, 10)
        : [],
      response: this.#response,
      breached_at: breached ? this.#breachedAt : null,
      resumed: this.#resumed,
    };
  }
}
