import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AuditAction, AuditEntry, AuditOutcome, AuditState } from '../../../shared/domain/audit';
import type { RiskLimits } from '../../../shared/domain/risk';
import type { Session } from '../../../shared/domain/session';
import type { ApiRequest } from '../../../shared/http/types';
import type { ApiDeps } from '../../../shared/runtime/api-deps';

export const auditStateOf = (session: Session | undefined | null): AuditState =>
  session === undefined || session === null
    ? null
    : { status: session.status, desired_state: session.desired_state };

export interface CommandAudit {
  action: AuditAction;
  outcome: AuditOutcome;
  strategyId: string;
  runId: string;
  reason: string | null;
  mode: Session['trading_mode'] | null;
  before: AuditState;
  after: AuditState;
  detail?: string | null;
  /** A start's: what the session was asked to change in Freqtrade's config, and the limits it runs under. */
  overrides?: Record<string, unknown>;
  riskLimits?: RiskLimits;
  promotion?: AuditEntry['promotion'];
}

/**
 * Every command leaves a record. The command has already happened when this runs, so a failed audit write
 * must not turn a done command into an error the caller would retry: the full record goes to the log (an
 * error line with the `audit` key) and a metric alarms on it.
 */
export const recordAudit = async (deps: ApiDeps, request: ApiRequest, audit: CommandAudit): Promise<void> => {
  const entry: AuditEntry = {
    strategy_id: audit.strategyId,
    run_id: audit.runId,
    at: new Date(deps.clock.now()).toISOString(),
    action: audit.action,
    outcome: audit.outcome,
    actor: request.principal.subject,
    reason: audit.reason,
    trading_mode: audit.mode,
    state_before: audit.before,
    state_after: audit.after,
    detail: audit.detail?.slice(0, 1024) ?? null,
    request_id: request.requestId.slice(0, 128),
    ...(audit.overrides === undefined ? {} : { overrides: audit.overrides }),
    ...(audit.riskLimits === undefined ? {} : { risk_limits: audit.riskLimits }),
    ...(audit.promotion === undefined ? {} : { promotion: audit.promotion }),
  };
  deps.metrics.addMetric(`Command_${audit.action}_${audit.outcome}`, MetricUnit.Count, 1);
  try {
    await deps.audit.record(entry);
  } catch (error) {
    deps.logger.error('audit record not written', { error: error as Error, audit: entry });
    deps.metrics.addMetric('AuditWriteFailed', MetricUnit.Count, 1);
  }
};
