import { createHash } from 'node:crypto';
import type { AccountId } from '../domain/session';

/**
 * The identity of an exchange account as the control plane stores it: a digest of the exchange and the
 * API key, so two sessions on one account lease the same (account, pair) keys, while the key itself never
 * reaches DynamoDB, logs or alerts. Two keys of one account (sub-keys) count as two accounts; operators
 * give each strategy its own key, so that is the conservative reading available without the exchange.
 */
export const accountIdOf = (exchange: string, apiKey: string): AccountId =>
  createHash('sha256').update(`${exchange.toLowerCase()}\n${apiKey}`).digest('hex').slice(0, 32);
