import { describe, expect, it } from 'vitest';
import { arenaHeadline, arenaIntervalText, tallyVotes, voteWinner, wilsonInterval } from './winRate.ts';

describe('arena win rate', () => {
  it('maps left/right back to the models through the side plan', () => {
    expect(voteWinner({ bOnLeft: true, choice: 'left' })).toBe('b');
    expect(voteWinner({ bOnLeft: true, choice: 'right' })).toBe('a');
    expect(voteWinner({ bOnLeft: false, choice: 'right' })).toBe('b');
    expect(voteWinner({ bOnLeft: false, choice: 'left' })).toBe('a');
    expect(voteWinner({ bOnLeft: false, choice: 'tie' })).toBe('tie');
  });

  it('tallies and words the headline', () => {
    const votes = [
      ...Array.from({ length: 7 }, (_, i) => ({ bOnLeft: i % 2 === 0, choice: i % 2 === 0 ? ('left' as const) : ('right' as const) })),
      { bOnLeft: true, choice: 'right' as const },
      { bOnLeft: false, choice: 'tie' as const },
      { bOnLeft: true, choice: 'tie' as const },
    ];
    const t = tallyVotes(votes);
    expect(t).toEqual({ bWins: 7, aWins: 1, ties: 2, total: 10 });
    expect(arenaHeadline(t, 'Tuned')).toBe('Tuned wins 7 of 10 (2 ties)');
    expect(arenaHeadline({ bWins: 2, aWins: 0, ties: 1, total: 3 }, 'Tuned')).toBe('Tuned wins 2 of 3 (1 tie)');
    expect(arenaHeadline({ bWins: 0, aWins: 3, ties: 0, total: 3 }, 'Tuned')).toBe('Tuned wins 0 of 3 (no ties)');
  });

  it('gives the Wilson score interval (checked against closed-form values)', () => {
    // 7 of 8, z = 1.96: (0.529, 0.978), from the closed form in Python (Wilson 1927; statsmodels method="wilson").
    const ci = wilsonInterval(7, 8)!;
    expect(ci.low).toBeCloseTo(0.5291, 4);
    expect(ci.high).toBeCloseTo(0.9776, 4);
    // 5 of 10: symmetric around 0.5: (0.2366, 0.7634).
    const half = wilsonInterval(5, 10)!;
    expect(half.low).toBeCloseTo(0.2366, 4);
    expect(half.high).toBeCloseTo(0.7634, 4);
    expect(half.low + half.high).toBeCloseTo(1, 12);
    // The edges stay inside [0, 1] and are not degenerate: 0 of 5 -> (0, 0.4345).
    const none = wilsonInterval(0, 5)!;
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.4345, 4);
    const all = wilsonInterval(5, 5)!;
    expect(all.high).toBe(1);
    expect(all.low).toBeCloseTo(0.5655, 4);
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(() => wilsonInterval(6, 5)).toThrow(RangeError);
  });

  it('says which interval it is, ties left out', () => {
    expect(arenaIntervalText({ bWins: 7, aWins: 1, ties: 2, total: 10 }, 'Tuned')).toBe(
      'Tuned won 88% of the 8 decided prompts (ties left out); 95% Wilson score interval 53%–98%.',
    );
    expect(arenaIntervalText({ bWins: 0, aWins: 0, ties: 3, total: 3 }, 'Tuned')).toBe('Every prompt was a tie: no win rate to estimate.');
  });
});
