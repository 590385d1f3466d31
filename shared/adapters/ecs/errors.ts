import { TradaiError } from '../../domain/errors';

/** Base of the container platform's faults. Their `name`s are matched by the launch workflow's Retry/Catch. */
export class ContainerPlatformError extends TradaiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContainerPlatformError';
  }
}

/** No capacity right now (Fargate or Spot): worth retrying with backoff; the workflow does. */
export class ContainerCapacityError extends ContainerPlatformError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContainerCapacityError';
  }
}

/** The platform refused the container for a reason retrying will not fix (bad task definition, quota...). */
export class ContainerStartError extends ContainerPlatformError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContainerStartError';
  }
}

/** Names the launch workflow retries on (statemachines/launch-session.asl.json). */
export const RETRYABLE_CONTAINER_ERRORS = ['ContainerCapacityError'] as const;
