import {
  decidePromotionGate,
  describeTarget,
  ModelRegistryError,
  type RegistryModelVersion,
  touchesLiveSession,
} from '../../../shared/domain/model-promotion';
import { isTerminal, type Session } from '../../../shared/domain/session';
import { SCOPES } from '../../../shared/http/constants';
import {
  ConflictError,
  HttpError,
  ServiceUnavailableError,
  UnprocessableError,
} from '../../../shared/http/errors';
import { createHttpHandler, defineRoute } from '../../../shared/http/handler';
import type { ApiRequest, ApiResult, HttpLambdaHandler } from '../../../shared/http/types';
import { defaultPromoteDeps, type PromoteDeps } from '../../../shared/runtime/api-promote-deps';
import { auditStateOf, recordAudit } from '../shared/audit';
import { requirePromotionAuthority } from '../shared/authority';
import { StrategyParamsSchema } from '../shared/schemas';
import { type PromoteBody, PromoteBodySchema } from './schema';

export type { PromoteDeps } from '../../../shared/runtime/api-promote-deps';

/** A registry fault is the dependency's, never the caller's: 503 (retry) unless MLflow refused the request. */
const registryFault = (error: ModelRegistryError): HttpError =>
  error.reason === 'refused'
    ? new UnprocessableError('registry_refused', error.message)
    : new ServiceUnavailableError('registry_unavailable', error.message, { cause: error });

const promote = async (
  deps: PromoteDeps,
  request: ApiRequest<{ strategyId: string }, unknown, PromoteBody>,
): Promise<ApiResult> => {
  const { strategyId } = request.params;
  const { version, to, reason } = request.body;
  const current: Session | undefined = await deps.store.currentSessionOf(strategyId);
  const active = current !== undefined && !isTerminal(current.status) ? current : undefined;
  const model = request.body.model ?? current?.strategy_name;
  const target = describeTarget(to);
  const audit = (
    outcome: 'accepted' | 'refused' | 'failed',
    detail: string | null,
    before?: RegistryModelVersion,
    after?: RegistryModelVersion,
    backtestRunId: string | null = null,
  ) =>
    recordAudit(deps, request, {
      action: 'promote',
      outcome,
      strategyId,
      runId: active?.run_id ?? 'none',
      reason,
      mode: active?.trading_mode ?? null,
      before: auditStateOf(active),
      after: auditStateOf(active),
      detail,
      ...(model === undefined
        ? {}
        : {
            promotion: {
              model,
              version,
              to: to.kind === 'stage' ? to.stage : to.alias,
              stage_before: before?.stage ?? null,
              stage_after: after?.stage ?? null,
              backtest_run_id: backtestRunId,
            },
          }),
    });

  // Authority first: who may not promote learns nothing about the registry.
  requirePromotionAuthority(request.principal, touchesLiveSession(to, active));
  if (model === undefined) {
    const message = `Strategy ${strategyId} has never run: name its registered model in "model"`;
    await audit('refused', message);
    throw new UnprocessableError('model_unknown', message);
  }
  const label = `${model} v${version}`;
  let before: RegistryModelVersion | undefined;
  try {
    before = await deps.registry.getVersion(model, version);
  } catch (error) {
    if (!(error instanceof ModelRegistryError)) throw error;
    await audit('failed', error.message);
    throw registryFault(error);
  }
  if (before === undefined) {
    const message = `${label} is not in the registry`;
    await audit('refused', message);
    throw new UnprocessableError('version_not_found', message);
  }
  const gate = decidePromotionGate({
    floors: deps.promotionFloors,
    target: to,
    version: { name: model, version, strategyVersion: before.tags.strategy_version ?? null },
    backtests: deps.promotionFloors === null ? [] : await deps.backtests.completedBacktests(model),
  });
  if (!gate.ok) {
    await audit('refused', gate.message, before);
    if (gate.reason === 'backtest_required') throw new ConflictError('backtest_required', gate.message);
    throw new HttpError(422, 'below_floor', gate.message, {
      details: { floor: gate.floor, required: gate.required, actual: gate.actual, run_id: gate.run_id },
    });
  }
  const backtestRunId = gate.gated ? gate.run_id : null;
  let after: RegistryModelVersion;
  try {
    after = await deps.registry.promote(model, version, to);
  } catch (error) {
    if (!(error instanceof ModelRegistryError)) throw error;
    // Not found between the read and the write: the version was deleted meanwhile.
    await audit(error.reason === 'not_found' ? 'refused' : 'failed', error.message, before);
    if (error.reason === 'not_found') throw new UnprocessableError('version_not_found', error.message);
    throw registryFault(error);
  }
  await audit('accepted', `${label} → ${target}`, before, after, backtestRunId);
  return {
    statusCode: 200,
    body: {
      strategy_id: strategyId,
      model,
      version,
      to: to.kind === 'stage' ? to.stage : to.alias,
      kind: to.kind,
      stage_before: before.stage,
      stage: after.stage,
      aliases: after.aliases,
      backtest_run_id: backtestRunId,
      // What a running session does now: nothing until its next start (or a deploy) reloads the registry.
      active_run_id: active?.run_id ?? null,
    },
  };
};

export const createHandler = (deps: PromoteDeps): HttpLambdaHandler =>
  createHttpHandler(
    [
      defineRoute({
        method: 'POST',
        path: '/strategies/{strategyId}/promote',
        scope: SCOPES.write,
        params: StrategyParamsSchema,
        body: PromoteBodySchema,
        idempotent: true,
        handle: (request) => promote(deps, request),
      }),
    ],
    deps,
  );

let lazy: HttpLambdaHandler | undefined;

/** Lambda entry point: AWS adapters built from the environment on the first invocation. */
export const handler: HttpLambdaHandler = (event, context) => {
  lazy ??= createHandler(defaultPromoteDeps());
  return lazy(event, context);
};
