import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const PACKAGE_STAGE = 'ci';

export interface TemplateResource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: unknown;
}
export interface Template {
  Resources: Record<string, TemplateResource>;
  Parameters?: Record<string, { Default?: unknown }>;
}

const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';
/** Inputs of `osls package`: a change to any of them packages again. */
const INPUTS = ['serverless.yml', 'package-lock.json', 'functions', 'shared', 'statemachines'];

async function filesUnder(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

async function inputsDigest(): Promise<string> {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of await filesUnder(join(ROOT, input))) {
      hash
        .update(file.slice(ROOT.length))
        .update('\0')
        .update(await readFile(file))
        .update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * `osls package` offline, once per set of inputs: test files of the packaging project run in separate
 * workers, so the first one packages (holding a lock folder) and the others read its template. The template
 * is the one a deploy would send, so what the tests read is what CloudFormation would get.
 */
export async function packagedTemplate(): Promise<Template> {
  return JSON.parse(await readFile(await packagedTemplateFile(), 'utf8')) as Template;
}

/** The packaged template's path (cfn-lint reads the file itself). */
export async function packagedTemplateFile(): Promise<string> {
  const dir = join(tmpdir(), `tradai-package-${PACKAGE_STAGE}-${await inputsDigest()}`);
  const template = join(dir, TEMPLATE_FILE);
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 170_000;
  for (;;) {
    if (await exists(template)) return template;
    try {
      await mkdir(lock);
    } catch {
      // A worker killed mid-package leaves its lock behind: older than any package run, it is void.
      const held = await stat(lock).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (held > 150_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another worker held ${lock} too long`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    try {
      const staging = `${dir}.staging-${process.pid}`;
      await promisify(execFile)('npx', ['osls', 'package', '--stage', PACKAGE_STAGE, '--package', staging], {
        cwd: ROOT,
        timeout: 120_000,
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      });
      // Renamed whole, so a reader never sees a half-written package.
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}
