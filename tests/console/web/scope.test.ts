import { describe, expect, it } from 'vitest';
import { changeText } from '../../../console/web/src/scope';
import { fleetResumed as resumed } from '../support/scope-replies';

describe('Console: what a halt or resume did, in words', () => {
  it('names each session a resume kept paused because its agent is held, with what holds it and what to do', () => {
    // act
    const text = changeText(
      'Resume',
      resumed([
        {
          run_id: 'live-b-1',
          strategy_id: 'b',
          trading_mode: 'live',
          reason: 'agent_held',
          held_by: 'fail_closed',
          message: 'kept paused: its agent holds Freqtrade stopped (fail_closed: pause not honoured)',
        },
        {
          run_id: 'live-c-1',
          strategy_id: 'c',
          trading_mode: 'live',
          reason: 'agent_held',
          held_by: 'start_failure',
          message: 'kept paused: its agent holds Freqtrade stopped (start_failure: 5 restarts)',
        },
      ]),
    );

    // assess
    expect(text).toContain('2 kept paused because their agent is held');
    expect(text).toContain('b (live-b-1, fail_closed)');
    expect(text).toContain('c (live-c-1, start_failure)');
    expect(text).toContain('check their positions on the exchange, then stop each and start it again');
  });

  it('says nothing about held sessions when there are none', () => {
    expect(changeText('Resume', resumed([]))).not.toContain('held');
  });
});
