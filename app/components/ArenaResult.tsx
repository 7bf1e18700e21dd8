// The arena's verdict, revealed at the end: who won how often (with a 95% Wilson interval on the
// decided prompts) and, prompt by prompt, which model sat on which side and what was chosen.
// Judged by a reward model, the result says so (automatic) and the table shows each answer's score.
import { arenaHeadline, arenaIntervalText, tallyVotes, voteWinner } from '../classroom/winRate.ts';
import type { ArenaRound } from '../store/createArenaSlice.ts';

/** judge: the reward run that judged (its label), or null when people did. */
export function ArenaResult({ rounds, nameA, nameB, judge = null }: { rounds: ArenaRound[]; nameA: string; nameB: string; judge?: string | null }) {
  const votes = rounds.filter((r) => r.choice !== null).map((r) => ({ bOnLeft: r.bOnLeft, choice: r.choice! }));
  const tally = tallyVotes(votes);
  const side = (r: ArenaRound, left: boolean) => (r.bOnLeft === left ? nameB : nameA);
  const winnerName = (r: ArenaRound) => {
    const w = voteWinner({ bOnLeft: r.bOnLeft, choice: r.choice! });
    return w === 'tie' ? 'Tie' : w === 'b' ? nameB : nameA;
  };
  const reward = (r: ArenaRound, left: boolean) => {
    const x = r.bOnLeft === left ? r.rewardB : r.rewardA;
    return x === undefined ? null : <span className="muted"> (reward {x.toFixed(3)})</span>;
  };
  const automatic = judge !== null;
  return (
    <div className={automatic ? 'arena-result automatic-judge' : 'arena-result'}>
      {automatic && (
        <p className="automatic-note">
          <strong>Automatic win rate</strong>, judged by a reward model ({judge}), not by people: each answer was scored with its prompt, the higher score won, and equal
          answers tied.
        </p>
      )}
      <p className="arena-headline" role="status" aria-label="Arena result">
        {arenaHeadline(tally, nameB)}
        {automatic && ' — automatic, by a reward model'}
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
              <th>{automatic ? 'Chosen by the reward model' : 'Chosen'}</th>
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
                  {reward(r, true)}
                </td>
                <td>
                  <strong>{side(r, false)}</strong>: {r.bOnLeft ? r.answerA : r.answerB}
                  {reward(r, false)}
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
