/**
 * How container/Dockerfile runs node, read from the file itself so the bench and the tests run what the
 * image runs (a hand-kept copy in the bench once left out --enable-source-maps, and reading NODE_OPTIONS
 * alone hid that node refuses `--lite-mode` there).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as z from 'zod';

export const DOCKERFILE = resolve(import.meta.dirname, 'Dockerfile');

const ExecFormSchema = z.array(z.string()).min(2);

export interface ImageNodeInvocation {
  /** The flags between `node` and the script in the exec-form ENTRYPOINT: the agent's own. */
  entrypointFlags: string[];
  /** The script the ENTRYPOINT runs. */
  script: string;
  /** `ENV NODE_OPTIONS`, split; every node the image starts gets them (the agent and the HEALTHCHECK). */
  nodeOptions: string[];
}

export const imageNodeInvocation = async (dockerfile: string = DOCKERFILE): Promise<ImageNodeInvocation> => {
  const text = (await readFile(dockerfile, 'utf8')).replace(/\\\n/g, ' ');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text)?.[1];
  if (entrypoint === undefined) throw new Error(`${dockerfile}: no exec-form ENTRYPOINT`);
  const argv = ExecFormSchema.parse(JSON.parse(entrypoint));
  if (argv[0] !== 'node') throw new Error(`${dockerfile}: the ENTRYPOINT runs ${argv[0]}, not node`);
  const options = /^ENV\s.*\bNODE_OPTIONS="([^"]*)"/m.exec(text)?.[1] ?? '';
  return {
    entrypointFlags: argv.slice(1, -1),
    script: argv.at(-1) ?? '',
    nodeOptions: options.split(/\s+/).filter((flag) => flag.length > 0),
  };
};

/** Every flag the image's agent runs with: NODE_OPTIONS first, as node applies them, then the ENTRYPOINT's. */
export const imageNodeFlags = async (dockerfile?: string): Promise<string[]> => {
  const { nodeOptions, entrypointFlags } = await imageNodeInvocation(dockerfile);
  return [...nodeOptions, ...entrypointFlags];
};
