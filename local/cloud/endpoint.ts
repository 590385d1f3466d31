import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { runDirectory } from './jwt-issuer';

/**
 * Where a running `npm start` says it listens, so a client (`tradai`) finds it without configuration from
 * any folder: one file per HTTP port in the run directory, next to the issuer file, holding the pid that
 * proves it is still running (a cloud killed -9 leaves its file behind; a dead pid rules it out).
 */
export const EndpointRecordSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  pid: z.number().int().positive(),
  data_dir: z.string().min(1).nullable(),
  started_at: z.iso.datetime({ offset: false }),
});
export type EndpointRecord = z.infer<typeof EndpointRecordSchema>;

const FILE = /^cloud-(\d{1,5})\.json$/;
const fileOf = (directory: string, url: string) => join(directory, `cloud-${new URL(url).port || '80'}.json`);

/** Called once the HTTP API listens; the returned function removes the record again (on a clean stop). */
export const publishEndpoint = async (
  url: string,
  dataDir: string | undefined,
  directory: string = runDirectory(),
): Promise<() => Promise<void>> => {
  const file = fileOf(directory, url);
  const record: EndpointRecord = {
    url,
    pid: process.pid,
    data_dir: dataDir === undefined ? null : resolve(dataDir),
    started_at: new Date().toISOString(),
  };
  await mkdir(directory, { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(record), { mode: 0o600 });
  return () => rm(file, { force: true });
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The local clouds whose process is alive, by port; unreadable or foreign files are skipped. */
export const runningLocalClouds = async (directory: string = runDirectory()): Promise<EndpointRecord[]> => {
  const names = await readdir(directory).catch(() => [] as string[]);
  const records: EndpointRecord[] = [];
  for (const name of names.filter((entry) => FILE.test(entry)).sort()) {
    const record = await readFile(join(directory, name), 'utf8')
      .then((text) => EndpointRecordSchema.parse(JSON.parse(text)))
      .catch(() => undefined);
    if (record !== undefined && isAlive(record.pid)) records.push(record);
  }
  return records;
};
