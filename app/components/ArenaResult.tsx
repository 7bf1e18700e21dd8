// The arena's verdict, revealed at the end: who won how often (with a 95% Wilson interval on the
// decided prompts) and, prompt by prompt, which model sat on which side and what was chosen.
import { arenaHeadline, arenaIntervalText, tallyVotes, voteWinner } from '../classroom/winRate.ts';
import type { ArenaRound } from '../store/createArenaSlice.ts';

export function ArenaResult({ rounds, nameA, nameB }: { rounds: ArenaRound[]; nameA: string; nameB: string }) {
  const votes = rounds.filter((r) => r.choice !== null).map((r) => ({ bOnLeft: r.bOnLeft, choice: r.choice! }));
  const tally = tallyVotes(votes);
  const side = (r: ArenaRound, left: boolean) => (r.bOnLeft === left ? nameB : nameA);
  const winnerName = (r: ArenaRound) => {
    const w = voteWinner({ bOnLeft: r.bOnLeft, choice: r.choice! });
    return w === 'tie' ? 'Tie' : w === 'b' ? nameB : nameA;
  };
  return (
    <div className="arena-result">
      <p className="arena-headline" role="status" aria-label="Arena result">
        {arenaHeadline(tally, nameB)}
      </p>
      <p className="muted">
        {nameA} wins {tally.aWins}. {arenaIntervalText(tally, nameB)}
      </p>
      <div className="table-window">
        <table aria-label="Arena rounds">
          <thead>
            <tr>
              <th>#</th>
              <th>Prompt</th>
              <th>Left</th>
              <th>Right</th>
              <th>Chosen</th>
              <th>Winner</th>
            </tr>
          </thead>
          <tbody>
            {rounds.map((r, i) => (
              <tr key={i}>
                <td className="line-number">{i + 1}</td>
                <td>{r.prompt}</td>
                <td>
                  <strong>{side(r, true)}</strong>: {r.bOnLeft ? r.answerB : r.answerA}
                </td>
                <td>
                  <strong>{side(r, false)}</strong>: {r.bOnLeft ? r.answerA : r.answerB}
                </td>
                <td>{r.choice === 'tie' ? 'Tie' : r.choice === 'left' ? 'Left' : 'Right'}</td>
                <td>{winnerName(r)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
