/**
 * `npm run console:build -- --cognito-domain <host> --client-id <id> [--redirect-uri <url>] [--out <dir>]`:
 * the operator console as a static site for the stack's S3 bucket (behind CloudFront): the bundle and a
 * config.json telling the page to log in through the Cognito hosted UI. The values come from the stack's
 * outputs (ConsoleUrl, ConsoleUserPoolClientId, OperatorsHostedUiDomain).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { LoginConfigSchema } from '../console/web/src/auth';
import { exitWithUsageError, parseCommandLine } from '../local/cli';
import { buildConsole } from '../local/cloud/console-site';
import { SCOPE_RESOURCE_SERVER, SCOPES } from '../shared/http/constants';

const USAGE = `
Usage: npm run console:build -- --cognito-domain <host> --client-id <id> [options]
  Builds the operator console as a static site (the bundle and config.json) for the console bucket.
  --cognito-domain <host>  the hosted UI's domain (stack output OperatorsHostedUiDomain)
  --client-id <id>         the console's app client (stack output ConsoleUserPoolClientId)
  --redirect-uri <url>     where Cognito sends the operator back (default: the page's own origin + /)
  --out <folder>           where the site goes (default console/web/dist)
  -h, --help               this text
`;

// parseArgs (strict) already refused unknown options; `help` is its own.
const ArgsSchema = z.object({
  'cognito-domain': z
    .string()
    .regex(
      /^[a-z0-9.-]+$/,
      'must be a host name, e.g. tradai-operators-prod.auth.eu-central-1.amazoncognito.com',
    ),
  'client-id': z.string().regex(/^[a-z0-9]{1,128}$/, 'must be a Cognito app client id'),
  'redirect-uri': z.url({ protocol: /^https$/, message: 'must be an https URL' }).optional(),
  out: z.string().min(1).optional(),
});

const { values } = parseCommandLine({
  usage: USAGE,
  options: {
    'cognito-domain': { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string' },
    out: { type: 'string' },
  },
});
const parsed = ArgsSchema.safeParse(values);
if (!parsed.success) {
  const issue = parsed.error.issues[0];
  exitWithUsageError(`--${issue?.path.join('.')}: ${issue?.message}`);
}
const outdir = parsed.data.out ?? join(import.meta.dirname, '..', 'console', 'web', 'dist');
const files = await buildConsole({ outdir });
await writeFile(
  join(outdir, 'config.json'),
  // Parsed with the page's own schema: never a config.json the page would refuse at start.
  `${JSON.stringify(
    LoginConfigSchema.parse({
      kind: 'cognito',
      domain: parsed.data['cognito-domain'],
      clientId: parsed.data['client-id'],
      scopes: ['openid', ...Object.values(SCOPES).map((scope) => `${SCOPE_RESOURCE_SERVER}/${scope}`)],
      ...(parsed.data['redirect-uri'] === undefined ? {} : { redirectUri: parsed.data['redirect-uri'] }),
    }),
  )}\n`,
);
console.log(`console site written to ${outdir} (${files.size + 1} files)`);
