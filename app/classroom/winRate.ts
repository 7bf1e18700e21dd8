// The arena's result: who won how many blind comparisons, and how sure we can be.
//
// The win rate is the challenger's share of the *decided* prompts (ties left out), with a 95%
// Wilson score interval — the binomial interval that stays inside [0, 1] and behaves at the
// small counts a classroom produces (10 prompts, 7 wins), where the normal approximation does
// not. Ties are reported next to it, not counted as half a win.

export type ArenaChoice = 'left' | 'right' | 'tie';

/** One judged prompt. `bOnLeft`: the challenger (model B) was shown on the left. */
export interface ArenaVote {
  bOnLeft: boolean;
  choice: ArenaChoice;
}

export interface ArenaTally {
  /** Prompts the challenger (B) won, the baseline (A) won, and ties. */
  bWins: number;
  aWins: number;
  ties: number;
  total: number;
}

/** Which model a vote favoured: 'b' (challenger), 'a' (baseline) or 'tie'. */
export function voteWinner(vote: ArenaVote): 'a' | 'b' | 'tie' {
  if (vote.choice === 'tie') return 'tie';
  const leftWon = vote.choice === 'left';
  return leftWon === vote.bOnLeft ? 'b' : 'a';
}

export function tallyVotes(votes: readonly ArenaVote[]): ArenaTally {
  const t: ArenaTally = { bWins: 0, aWins: 0, ties: 0, total: votes.length };
  for (const v of votes) {
    const w = voteWinner(v);
    if (w === 'b') t.bWins++;
    else if (w === 'a') t.aWins++;
    else t.ties++;
  }
  return t;
}

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/** Wilson score interval for `successes` of `n` (null when n = 0). */
export function wilsonInterval(successes: number, n: number, z = Z95): { low: number; high: number } | null {
  if (n <= 0) return null;
  if (successes < 0 || successes > n) throw new RangeError(`successes must be within 0..${n}, got ${successes}`);
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamp rounding dust (the exact interval is inside [0, 1]).
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

const percent = (x: number) => `${Math.round(x * 100)}%`;

/** "Tuned wins 7 of 10 (2 ties)". */
export function arenaHeadline(t: ArenaTally, challenger: string): string {
  const ties = t.ties === 0 ? 'no ties' : t.ties === 1 ? '1 tie' : `${t.ties} ties`;
  return `${challenger} wins ${t.bWins} of ${t.total} (${ties})`;
}

/** The win rate among decided prompts with its interval, in words. */
export function arenaIntervalText(t: ArenaTally, challenger: string): string {
  const decided = t.bWins + t.aWins;
  const ci = wilsonInterval(t.bWins, decided);
  if (!ci) return 'Every prompt was a tie: no win rate to estimate.';
  return `${challenger} won ${percent(t.bWins / decided)} of the ${decided} decided prompt${decided === 1 ? '' : 's'} (ties left out); 95% Wilson score interval ${percent(ci.low)}–${percent(ci.high)}.`;
}
