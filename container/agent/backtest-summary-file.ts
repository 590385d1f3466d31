import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { type BacktestSummary, backtestSummaryOf } from '../../shared/domain/backtest-summary';

/** The JSON entries of a zip archive (stored or deflated), by name: Freqtrade 2026.9 exports its result so. */
export const zipJsonEntries = (archive: Buffer): Map<string, string> => {
  const entries = new Map<string, string>();
  let end = -1;
  for (let at = archive.length - 22; at >= Math.max(0, archive.length - 65_557); at -= 1) {
    if (archive.readUInt32LE(at) === 0x06054b50) {
      end = at;
      break;
    }
  }
  if (end < 0) return entries;
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  for (let index = 0; index < count && archive.readUInt32LE(at) === 0x02014b50; index += 1) {
    const method = archive.readUInt16LE(at + 10);
    const compressed = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const skip = nameLength + archive.readUInt16LE(at + 30) + archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + skip;
    if (!name.endsWith('.json') || archive.readUInt32LE(local) !== 0x04034b50) continue;
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const data = archive.subarray(start, start + compressed);
    if (method === 0) entries.set(name, data.toString('utf8'));
    else if (method === 8) entries.set(name, inflateRawSync(data).toString('utf8'));
  }
  return entries;
};

/**
 * The summary of `strategy` in the newest result of a `backtest_results` folder (`.last_result.json` names
 * it: a `.json`, or Freqtrade 2026.9's `.zip`); undefined when there is none or it is not Freqtrade's shape.
 */
export const readBacktestSummary = async (
  resultsDir: string,
  strategy: string,
): Promise<BacktestSummary | undefined> => {
  try {
    const last = JSON.parse(await readFile(join(resultsDir, '.last_result.json'), 'utf8')) as {
      latest_backtest?: unknown;
    };
    if (typeof last.latest_backtest !== 'string') return undefined;
    const path = join(resultsDir, last.latest_backtest.split(/[\\/]/).pop() ?? '');
    const bytes = await readFile(path);
    const candidates = path.endsWith('.zip') ? [...zipJsonEntries(bytes).values()] : [bytes.toString('utf8')];
    for (const text of candidates) {
      const summary = backtestSummaryOf(JSON.parse(text), strategy);
      if (summary !== undefined) return summary;
    }
    return undefined;
  } catch {
    return undefined;
  }
};
