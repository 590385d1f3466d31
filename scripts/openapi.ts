import { buildOpenApiDocument } from '../functions/api/openapi';

const USAGE = `Usage: npm run openapi [-- --server <url>]

Writes the HTTP API's OpenAPI 3.1 document (generated from the handlers' zod schemas) to stdout.
The local cloud (npm start) serves the same document at GET /openapi.json.

Options:
  --server <url>  add a servers entry, e.g. http://127.0.0.1:4000
  --help          print this help`;

const main = (argv: readonly string[]): number => {
  let serverUrl: string | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === '--help' || argument === '-h') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (argument === '--server' && argv[index + 1] !== undefined) {
      serverUrl = argv[index + 1];
      index += 1;
      continue;
    }
    process.stderr.write(`openapi: unknown option ${argument} (see --help)\n`);
    return 2;
  }
  process.stdout.write(`${JSON.stringify(buildOpenApiDocument({ serverUrl }), null, 2)}\n`);
  return 0;
};

process.exitCode = main(process.argv.slice(2));
