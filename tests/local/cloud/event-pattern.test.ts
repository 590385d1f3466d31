import { describe, expect, it } from 'vitest';
import { matchesAnyFilter, matchesPattern } from '../../../local/cloud/event-pattern';

const record = {
  eventName: 'MODIFY',
  dynamodb: {
    NewImage: { item_type: { S: 'session' }, status: { S: 'stale' }, heartbeat_seq: { N: '12' } },
    OldImage: { item_type: { S: 'session' }, status: { S: 'running' } },
  },
};

describe('Local cloud: event patterns', () => {
  it('matches exact values at any depth', () => {
    expect(matchesPattern({ dynamodb: { NewImage: { item_type: { S: ['session'] } } } }, record)).toBe(true);
    expect(matchesPattern({ dynamodb: { NewImage: { item_type: { S: ['strategy_lock'] } } } }, record)).toBe(
      false,
    );
  });

  it('requires every key and accepts any listed value', () => {
    expect(
      matchesPattern(
        { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { status: { S: ['stale'] } } } },
        record,
      ),
    ).toBe(true);
    expect(
      matchesPattern({ eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['stale'] } } } }, record),
    ).toBe(false);
  });

  it('supports prefix, anything-but, exists and numeric', () => {
    expect(matchesPattern({ dynamodb: { NewImage: { status: { S: [{ prefix: 'sta' }] } } } }, record)).toBe(
      true,
    );
    expect(
      matchesPattern({ dynamodb: { NewImage: { status: { S: [{ 'anything-but': ['stale'] }] } } } }, record),
    ).toBe(false);
    expect(matchesPattern({ dynamodb: { NewImage: { launch_token: [{ exists: false }] } } }, record)).toBe(
      true,
    );
    expect(matchesPattern({ dynamodb: { NewImage: { launch_token: [{ exists: true }] } } }, record)).toBe(
      false,
    );
    expect(matchesPattern({ n: [{ numeric: ['>', 10, '<=', 12] }] }, { n: 12 })).toBe(true);
    expect(matchesPattern({ n: [{ numeric: ['>', 12] }] }, { n: 12 })).toBe(false);
  });

  it('matches a pattern whose branch is absent only through exists: false', () => {
    expect(matchesPattern({ dynamodb: { OldImage: { x: [{ exists: false }] } } }, { dynamodb: {} })).toBe(
      true,
    );
    expect(matchesPattern({ dynamodb: { OldImage: { x: ['1'] } } }, { dynamodb: {} })).toBe(false);
  });

  it('keeps everything without filters and anything that matches one filter', () => {
    expect(matchesAnyFilter([], record)).toBe(true);
    expect(matchesAnyFilter([{ eventName: ['REMOVE'] }, { eventName: ['MODIFY'] }], record)).toBe(true);
    expect(matchesAnyFilter([{ eventName: ['REMOVE'] }], record)).toBe(false);
  });
});
