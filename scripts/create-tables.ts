/**
 * Creates the tables serverless.yml defines on any DynamoDB endpoint (the local one, DynamoDB Local, or
 * AWS). The endpoint is the SDK's own: AWS_ENDPOINT_URL_DYNAMODB, else AWS.
 *   npm run tables:create -- --stage dev [--region eu-central-1]
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseCommandLine } from '../local/cli';
import { loadServerlessConfig, tablesOf } from '../local/serverless/config';
import { createTableFromResource } from '../local/serverless/tables';

const { values } = parseCommandLine({
  usage: `
Usage: npm run tables:create [-- options]
  Creates the tables serverless.yml defines on the SDK's DynamoDB endpoint (AWS_ENDPOINT_URL_DYNAMODB, else AWS).
  --stage <stage>       table name suffix (default dev)
  --region <region>     AWS region (default: the SDK's)
  -h, --help            this text
`,
  options: { stage: { type: 'string', default: 'dev' }, region: { type: 'string' } },
});
const config = await loadServerlessConfig({ stage: values.stage, region: values.region });
const client = new DynamoDBClient(values.region ? { region: values.region } : {});
for (const properties of tablesOf(config).values()) {
  const { table, created } = await createTableFromResource(client, properties);
  console.log(`${created ? 'created' : 'exists '} ${table}`);
}
client.destroy();
