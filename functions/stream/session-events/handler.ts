import { createHash } from 'node:crypto';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  agentReportAlert,
  breachAlert,
  handoffAlert,
  highLossIncidentPausing,
  pausePagedByItsCause,
  transitionAlert,
} from '../../../shared/domain/alerts';
import { type Clock, systemClock } from '../../../shared/domain/clock';
import { parseInput, parseStored } from '../../../shared/domain/errors';
import type { AlertPublisher, ContainerPlatform, LaunchWorkflow } from '../../../shared/domain/ports';
import { transitionPagedByScope } from '../../../shared/domain/scope-alerts';
import { type Session, SessionSchema } from '../../../shared/domain/session';
import type { SessionStore } from '../../../shared/domain/session-store';
import { classifySessionChange, type SessionEffect } from '../../../shared/domain/stream';
import { budgetScopesOf, budgetsFromEnv } from '../../../shared/runtime/account-budget-scopes';
import { describeLockRelease, releaseLockIfContainerGone } from '../../../shared/runtime/container-release';
import { type DedupLedger, once } from '../../../shared/runtime/events-dedup';
import { alertsFromEnv } from '../../../shared/runtime/workflow-alerts';
import { lazyHandler, loggerFor, metricsFor, storeFromEnv } from '../../../shared/runtime/workflow-deps';
import { platformFromEnv } from '../../../shared/runtime/workflow-platform';
import { workflowFromEnv } from '../../../shared/runtime/workflow-sfn';
import { type AccountBudgetDeps, type BatchImages, enforceAccountBudgets } from './account-budgets';
import { SessionStreamRecordSchema } from './schema';

export interface SessionEventsDeps {
  store: SessionStore;
  platform: ContainerPlatform;
  workflow: Pick<LaunchWorkflow, 'succeed' | 'fail'>;
  alerts: AlertPublisher;
  ledger: DedupLedger;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Account budgets: the per-account aggregate this processor keeps, and the account scopes it reduces. */
  budgets: AccountBudgetDeps['budgets'];
  scopes: AccountBudgetDeps['scopes'];
}

/** Step Functions' answers for a token whose task is already over: nothing left to release. */
const SPENT_TOKEN_ERRORS = ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'];
const isSpentToken = (error: unknown) => error instanceof Error && SPENT_TOKEN_ERRORS.includes(error.name);

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

interface Images {
  previous: Session | undefined;
  current: Session;
}

/** Undefined for what is not a session change (locks, dedup markers, removals, other workflow records). */
export const imagesOf = (record: DynamoDBRecord): Images | undefined => {
  const parsed = parseInput(SessionStreamRecordSchema, record, 'DynamoDB stream record');
  if (parsed.eventName === 'REMOVE') return undefined;
  const next = parsed.dynamodb.NewImage as Record<string, unknown> | undefined;
  if (next?.item_type !== 'session') return undefined;
  const old = parsed.dynamodb.OldImage as Record<string, unknown> | undefined;
  return {
    current: parseStored(SessionSchema, next, 'session (stream new image)'),
    previous:
      old?.item_type === 'session'
        ? parseStored(SessionSchema, old, 'session (stream old image)')
        : undefined,
  };
};

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');

/**
 * Executes the effects of one session change. Every external effect is idempotent under redelivery:
 * pages and token releases go through the dedup ledger, store writes are conditional, teardown is
 * idempotent by the port's contract.
 */
export const processSessionChange = async (deps: SessionEventsDeps, { previous, current }: Images) => {
  const { store, platform, workflow, alerts, ledger, clock, logger, metrics } = deps;
  const effects = classifySessionChange(previous, current);
  const has = <T extends SessionEffect['type']>(type: T) =>
    effects.find((effect): effect is Extract<SessionEffect, { type: T }> => effect.type === type);
  const done: string[] = [];
  let deferred: unknown;

  const abort = has('abort_launch');
  if (abort !== undefined) {
    await once(ledger, `launch-abort:${current.run_id}:${digest(abort.token)}`, async () => {
      try {
        await workflow.fail(abort.token, 'SessionAborted', abort.reason);
        done.push('launch workflow told to stop waiting');
      } catch (error) {
        if (!isSpentToken(error)) throw error;
      }
    });
  }

  if (has('teardown') !== undefined) {
    // Done before the page so the page can say what happened; a failure still pages, then retries.
    try {
      if (current.container !== null) {
        await platform.stopSession(
          current.container,
          `session ${current.status}: ${current.status_reason ?? ''}`,
        );
        done.push('container stopped');
      } else {
        done.push('no container was recorded');
      }
      done.push(describeLockRelease(await releaseLockIfContainerGone(store, platform, current)));
    } catch (error) {
      deferred = error;
      done.push(`teardown FAILED (${errorName(error)}), being retried`);
      logger.error('teardown failed', { run_id: current.run_id, error });
    }
  }

  const transition = has('transition');
  const highLoss = transition === undefined ? null : highLossIncidentPausing(transition.from, current);
  if (
    transition !== undefined &&
    (pausePagedByItsCause(transition.from, current) ||
      transitionPagedByScope(transition.from, current) ||
      (highLoss !== null && (await ledger.seen(`alert:${highLoss}`))))
  ) {
    logger.info('status transition paged by its cause', { run_id: current.run_id, to: transition.to });
  } else if (transition !== undefined) {
    const alert = transitionAlert(transition.from, current, clock.now(), done);
    const sent = await once(ledger, `alert:${alert.dedup_id}`, () => alerts.publish(alert));
    if (sent) metrics.addMetric('AlertsPublished', MetricUnit.Count, 1);
    logger.info('status transition', {
      run_id: current.run_id,
      from: transition.from,
      to: transition.to,
      alerted: sent,
    });
  }

  const release = has('release_launch');
  if (release !== undefined) {
    await once(ledger, `launch-release:${current.run_id}:${digest(release.token)}`, async () => {
      try {
        await workflow.succeed(release.token, {
          run_id: current.run_id,
          heartbeat_seq: current.heartbeat_seq,
          last_heartbeat: current.last_heartbeat,
        });
        metrics.addMetric('LaunchesReleased', MetricUnit.Count, 1);
        logger.info('first heartbeat: launch released', { run_id: current.run_id });
      } catch (error) {
        if (!isSpentToken(error)) throw error;
        logger.info('launch token already spent', { run_id: current.run_id, error: errorName(error) });
      }
    });
  }

  const breach = has('risk_breach');
  // A breach whose response Freqtrade already refused (fail-closed stop in the same report) is one
  // incident: it pages once, as the fail-closed stop, which says what the agent did instead.
  const breachBecameFailClosed = effects.some(
    (effect) => effect.type === 'agent_report' && effect.report === 'fail_closed',
  );
  const breachNotes: string[] = [];
  if (breach !== undefined) {
    const key = `${current.run_id}:v${current.version}:risk.breach`;
    await once(ledger, `alert:${key}`, async () => {
      const actions: string[] = [];
      if (current.desired_state === 'running') {
        const paused = await store.setDesiredState(current.run_id, 'paused');
        actions.push(
          paused.ok
            ? 'desired state set to paused: the agent stops new entries'
            : `could not pause (${paused.message})`,
        );
      } else {
        actions.push(`desired state already ${current.desired_state}`);
      }
      if (current.risk?.response)
        actions.push(`the agent reports its response: ${current.risk.response.step}`);
      if (breachBecameFailClosed) {
        breachNotes.push(
          `risk limit breached: ${breach.breaches.map((item) => item.message).join('; ')}`,
          ...actions,
        );
        return;
      }
      await alerts.publish(breachAlert(current, breach.breaches, clock.now(), actions));
      metrics.addMetric('RiskBreaches', MetricUnit.Count, 1);
      logger.warn('risk breach', { run_id: current.run_id, breaches: breach.breaches });
    });
  }

  const recover = has('recover_stale');
  if (recover !== undefined) {
    const moved = await store.transition(current.run_id, recover.to, {
      from: ['stale'],
      patch: { status_reason: 'heartbeats resumed' },
    });
    if (!moved.ok)
      logger.info('stale recovery not applied', { run_id: current.run_id, detail: moved.message });
  }

  const confirmed = has('confirm_state');
  if (confirmed !== undefined) {
    const moved = await store.transition(current.run_id, confirmed.to, {
      from: [confirmed.from],
      patch: {
        status_reason: `Freqtrade confirmed ${confirmed.to === 'paused' ? 'paused' : 'trading'} (desired state ${current.desired_state})`,
      },
    });
    if (!moved.ok)
      logger.info('confirmed state not applied', { run_id: current.run_id, detail: moved.message });
  }

  for (const effect of effects) {
    if (effect.type !== 'agent_report') continue;
    const alert = agentReportAlert(
      effect.report,
      current,
      clock.now(),
      effect.report === 'fail_closed' ? breachNotes : [],
    );
    if (alert === undefined) continue;
    const sent = await once(ledger, `alert:${alert.dedup_id}`, () => alerts.publish(alert));
    if (sent) metrics.addMetric('AlertsPublished', MetricUnit.Count, 1);
    logger.warn('agent report', { run_id: current.run_id, report: effect.report, alerted: sent });
  }

  if (has('handoff_outcome') !== undefined) {
    const alert = handoffAlert(current, clock.now());
    if (alert !== undefined) {
      const sent = await once(ledger, `alert:${alert.dedup_id}`, () => alerts.publish(alert));
      if (sent) metrics.addMetric('AlertsPublished', MetricUnit.Count, 1);
      logger.warn('handoff did not complete', { run_id: current.run_id, phase: current.handoff?.phase });
    }
  }

  if (deferred !== undefined) throw deferred;
  return effects;
};

/** The batch's session changes; records that do not parse are already failed by their own processing. */
const batchImagesOf = (records: readonly DynamoDBRecord[]): BatchImages[] =>
  records.flatMap((record) => {
    try {
      const images = imagesOf(record);
      const sequence = record.dynamodb?.SequenceNumber;
      return images === undefined || sequence === undefined ? [] : [{ sequence, ...images }];
    } catch {
      return [];
    }
  });

export const createHandler = (deps: SessionEventsDeps) => {
  const recordHandler = async (record: DynamoDBRecord) => {
    const images = imagesOf(record);
    if (images === undefined) return;
    await processSessionChange(deps, images);
  };
  return middy(async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    // Records are processed one after another: per-item order matters (a transition before its teardown).
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    try {
      const response = await processPartialResponse(event, recordHandler, processor, {
        context,
        throwOnFullBatchFailure: false,
        processInParallel: false,
      });
      // Budgets once per batch (one aggregate write per account), after every record's own effects.
      const failed = await enforceAccountBudgets(deps, batchImagesOf(event.Records ?? []));
      const reported = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      for (const sequence of failed)
        if (!reported.has(sequence)) response.batchItemFailures.push({ itemIdentifier: sequence });
      return response;
    } finally {
      if (deps.metrics.hasStoredMetrics()) deps.metrics.publishStoredMetrics();
    }
  }).use(injectLambdaContext(deps.logger, { resetKeys: true }));
};

export const defaultDeps = (): SessionEventsDeps => {
  const { store, ledger, doc } = storeFromEnv();
  const budgets = budgetsFromEnv(doc);
  return {
    store,
    ledger,
    budgets,
    scopes: budgetScopesOf({ store, clock: systemClock }),
    platform: platformFromEnv(),
    workflow: workflowFromEnv(),
    alerts: alertsFromEnv(),
    clock: systemClock,
    logger: loggerFor(),
    metrics: metricsFor(),
  };
};

/** Built from the environment on the first invocation, never at import. */
export const handler = lazyHandler(() => createHandler(defaultDeps()));
