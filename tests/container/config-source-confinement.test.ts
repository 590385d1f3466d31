import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConfigSource } from '../../container/agent/config/config-source';
import { StrategyConfigError } from '../../container/agent/errors';

/** Content no error text may quote: it would end up in status_reason and in pages. */
const SECRET_LINE = 'exchange-secret-line-0123456789';

describe('FileConfigSource: a configuration_file stays inside the configured folder', () => {
  let dir: string;
  let root: string;
  let source: FileConfigSource;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tradai-config-root-'));
    root = join(dir, 'configs');
    await mkdir(join(root, 'strategies'), { recursive: true });
    await writeFile(join(root, 'strategies', 'ok.json'), '{"stake_currency":"USDT"}');
    await writeFile(join(root, 'strategies', 'broken.json'), `${SECRET_LINE}\n{"a":`);
    await writeFile(join(dir, 'outside.json'), `{"stolen":"${SECRET_LINE}"}`);
    await symlink(join(dir, 'outside.json'), join(root, 'strategies', 'link.json'));
    source = new FileConfigSource(`file://${root}`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const refusalOf = (location: string) =>
    source.readJson(location).then(
      (value) => ({ read: value }),
      (error: unknown) => error,
    );

  it.each([
    ['file:///etc/passwd', () => 'file:///etc/passwd'],
    ['a file:// URI beside the folder', () => `file://${join(dir, 'outside.json')}`],
    ['a file:// URI climbing out with ..', () => `file://${root}/../outside.json`],
    ['a relative ../ key', () => '../outside.json'],
    ['../../etc/passwd', () => '../../etc/passwd'],
    ['a key through a symlink pointing out of the folder', () => 'strategies/link.json'],
  ])(
    'reads nothing for %s and quotes no file content (a file:// tag read any file the agent could)',
    async (_case, location) => {
      // act
      const refusal = await refusalOf(location());

      // assess
      expect(refusal).toBeInstanceOf(StrategyConfigError);
      expect((refusal as StrategyConfigError).path).toBe('configuration_file');
      expect(String(refusal)).toContain('outside the config folder');
      expect(String(refusal)).not.toContain(SECRET_LINE);
      expect(String(refusal)).not.toContain('root:');
    },
  );

  it('reads a key and a file:// URI inside the folder', async () => {
    expect(await source.readJson('strategies/ok.json')).toEqual({ stake_currency: 'USDT' });
    expect(await source.readJson(`file://${root}/strategies/ok.json`)).toEqual({ stake_currency: 'USDT' });
  });

  it('names the file and the position, never its content, when it is not JSON (the parser quoted the first line into status_reason)', async () => {
    // act
    const refusal = await refusalOf('strategies/broken.json');

    // assess
    expect(refusal).toBeInstanceOf(StrategyConfigError);
    expect(String(refusal)).toContain('not valid JSON');
    expect(String(refusal)).not.toContain(SECRET_LINE.slice(0, 6));
  });
});
