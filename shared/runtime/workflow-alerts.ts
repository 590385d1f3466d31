import { SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { SnsAlertPublisher } from '../adapters/sns/sns-alert-publisher';
import { parseEnv } from './env';

export const AlertsEnvSchema = z.object({ ALERTS_TOPIC_ARN: z.string().startsWith('arn:') });

export const alertsFromEnv = (env: NodeJS.ProcessEnv = process.env): SnsAlertPublisher =>
  new SnsAlertPublisher(new SNSClient({ maxAttempts: 5 }), parseEnv(AlertsEnvSchema, env).ALERTS_TOPIC_ARN);
