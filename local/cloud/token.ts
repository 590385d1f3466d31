/**
 * `npm run token -- --scopes "strategies:read strategies:write" [--groups live] [--subject alice] [--ttl 3600] [--data .tradai]`
 * prints a token the local cloud's authorizer accepts. The key: `--data`'s if given, else the one the cloud at
 * TRADAI_URL (default http://127.0.0.1:$PORT or 4000) published when it started, `--memory` runs included.
 */
import * as z from 'zod';
import { localCloudUrl, parseCommandLine } from '../cli';
import { clientIssuer, NoIssuerKeyError } from './jwt-issuer';

const KNOWN = ['strategies:read', 'strategies:write', 'strategies:live'];
/** `live` is short for the user-pool group `tradai-live` (serverless.yml TradaiLiveGroup). */
const GROUP_ALIASES: Readonly<Record<string, string>> = { live: 'tradai-live', 'tradai-live': 'tradai-live' };
const ArgsSchema = z.object({
  scopes: z
    .string()
    .transform((text) => text.split(/[\s,]+/).filter(Boolean))
    .pipe(
      z
        .array(
          z.enum(KNOWN as [string, ...string[]], {
            message: `each scope must be one of ${KNOWN.join(', ')}`,
          }),
        )
        .min(1),
    ),
  groups: z
    .string()
    .transform((text) => text.split(/[\s,]+/).filter(Boolean))
    .pipe(
      z.array(
        z
          .string()
          .refine((name) => GROUP_ALIASES[name] !== undefined, {
            message: `each group must be one of ${Object.keys(GROUP_ALIASES).join(', ')}`,
          })
          .transform((name) => GROUP_ALIASES[name] as string),
      ),
    ),
  subject: z.string().min(1).max(256),
  ttl: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86_400),
  data: z.string().min(1).optional(),
});

const USAGE = `
Usage: npm run token [-- options]
  Prints a token the local cloud's authorizer accepts, signed with the key of the cloud at TRADAI_URL
  (default http://127.0.0.1:$PORT, PORT default 4000), or with --data's key.
  --scopes "<scopes>"   space- or comma-separated: ${KNOWN.join(', ')}
                        (default "strategies:read strategies:write")
  --groups <groups>     user-pool groups: live (= tradai-live) for live starts (default none)
  --subject <name>      the token's subject (default local-operator)
  --ttl <seconds>       lifetime, 60 to 604800 (default 43200)
  --data <folder>       sign with this data folder's key instead
  -h, --help            this text
`;
const { values } = parseCommandLine({
  usage: USAGE,
  options: {
    scopes: { type: 'string', default: 'strategies:read strategies:write' },
    groups: { type: 'string', default: '' },
    subject: { type: 'string', default: 'local-operator' },
    ttl: { type: 'string', default: String(12 * 3600) },
    data: { type: 'string' },
  },
});
const parsed = ArgsSchema.safeParse(values);
if (!parsed.success) {
  console.error(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('\n'));
  process.exit(2);
}
const url = localCloudUrl();
const issuer = await clientIssuer({ data: parsed.data.data, url }).catch((error: unknown) => {
  if (!(error instanceof NoIssuerKeyError)) throw error;
  console.error(`npm run token: ${error.message}`);
  process.exit(1);
});
console.log(
  await issuer.issue({
    subject: parsed.data.subject,
    scopes: parsed.data.scopes.map((scope) => `tradai/${scope}`),
    groups: parsed.data.groups,
    ttlS: parsed.data.ttl,
  }),
);
