import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { DynamoAlertHistory } from '../adapters/dynamodb/alert-history';
import { DynamoAuditLog } from '../adapters/dynamodb/audit-log';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { DynamoFleetReader } from '../adapters/dynamodb/fleet-read';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store';
import type { AlertHistory } from '../domain/alert-history';
import type { AuditLog } from '../domain/audit';
import { type Clock, systemClock } from '../domain/clock';
import type { FleetReader } from '../domain/fleet';
import type { SessionStore } from '../domain/session-store';
import { DEFAULT_STALE_AFTER_S } from '../domain/staleness';
import { parseEnv, secondsVar, TablesEnvSchema } from './env';

/** What every HTTP API function needs; the local cloud passes its own. */
export interface ReadDeps {
  store: SessionStore;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The read function also reads the alert history (GET /alerts, /strategies/{strategyId}/alerts) and the
 * audit trail (GET /strategies/{strategyId}/audit).
 */
export interface ReadStrategiesDeps extends ReadDeps {
  alertHistory: AlertHistory;
  audit: AuditLog;
  /** GET /fleet: each strategy's current session (the fleet index) and its newest alert. */
  fleet: FleetReader;
  /** The sweep's stale threshold (STALE_AFTER_S), shown beside each heartbeat age. */
  staleAfterS: number;
}

/** Command functions also write the audit log. */
export interface ApiDeps extends ReadDeps {
  audit: AuditLog;
}

export const ApiEnvSchema = TablesEnvSchema.extend({
  AUDIT_TABLE: z.string().min(3).max(255),
});
export type ApiEnv = z.infer<typeof ApiEnvSchema>;

export const METRICS_NAMESPACE = 'TradAI';

export const createObservability = () => ({
  logger: new Logger(),
  metrics: new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE }),
});

/** AWS wiring, built on the first invocation from the parsed environment (never at import time). */
export const defaultReadDeps = (
  env: NodeJS.ProcessEnv = process.env,
  doc = createDocumentClient(),
): ReadDeps => {
  const parsed = parseEnv(TablesEnvSchema, env);
  return {
    store: new DynamoSessionStore(doc, {
      sessionsTable: parsed.SESSIONS_TABLE,
      metricsTable: parsed.METRICS_TABLE,
    }),
    clock: systemClock,
    ...createObservability(),
  };
};

export const defaultApiDeps = (env: NodeJS.ProcessEnv = process.env): ApiDeps => {
  const parsed = parseEnv(ApiEnvSchema, env);
  const doc = createDocumentClient();
  return {
    ...defaultReadDeps(env, doc),
    audit: new DynamoAuditLog(doc, { auditTable: parsed.AUDIT_TABLE }),
  };
};

export const ReadStrategiesEnvSchema = TablesEnvSchema.extend({
  ALERTS_TABLE: z.string().min(3).max(255),
  AUDIT_TABLE: z.string().min(3).max(255),
  STALE_AFTER_S: secondsVar(DEFAULT_STALE_AFTER_S, 1, 86_400),
});

export const defaultReadStrategiesDeps = (env: NodeJS.ProcessEnv = process.env): ReadStrategiesDeps => {
  const parsed = parseEnv(ReadStrategiesEnvSchema, env);
  const doc = createDocumentClient();
  const alertHistory = new DynamoAlertHistory(doc, {
    alertsTable: parsed.ALERTS_TABLE,
    sessionsTable: parsed.SESSIONS_TABLE,
  });
  return {
    ...defaultReadDeps(env, doc),
    alertHistory,
    audit: new DynamoAuditLog(doc, { auditTable: parsed.AUDIT_TABLE }),
    fleet: new DynamoFleetReader(doc, { sessionsTable: parsed.SESSIONS_TABLE }),
    staleAfterS: parsed.STALE_AFTER_S,
  };
};
