import { TradaiError } from '../../../shared/domain/errors';

/**
 * The session is no longer where the launch expects it (stopped by the operator, failed by the sweep,
 * gone): the launch must not go on. Not retried; the workflow's Catch compensates.
 */
export class LaunchAbortedError extends TradaiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LaunchAbortedError';
  }
}
