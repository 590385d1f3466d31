import { describe, expect, it } from 'vitest';
import { tradeDbUrlOf } from '../../shared/domain/trade-store';

describe('Domain: trade store location', () => {
  it('gives each strategy a folder and each mode its own database, as an absolute sqlite URL', () => {
    expect(tradeDbUrlOf('/mnt/trade-store', 'pascal-btc', 'live')).toBe(
      'sqlite:////mnt/trade-store/pascal-btc/tradesv3.live.sqlite',
    );
    expect(tradeDbUrlOf('/mnt/trade-store/', 'pascal-btc', 'dry-run')).toBe(
      'sqlite:////mnt/trade-store/pascal-btc/tradesv3.dry-run.sqlite',
    );
  });

  it('refuses a relative root (SQLAlchemy would read it relative to whatever the working folder is)', () => {
    expect(() => tradeDbUrlOf('trade-store', 'pascal-btc', 'live')).toThrow(RangeError);
  });
});
