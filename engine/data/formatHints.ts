// When no format fits the columns, say which columns to rename to reach the closest one. The
// aliases are the column names public sets use for the same thing (LLaMA-Factory's
// dataset_info.json maps many of them: OpenOrca's question/response/system_prompt, Firefly's
// input/target, WikiQA's question/answer, ADGEN's content/summary, Intel orca_dpo_pairs'
// question/chosen/rejected, LMSYS's conversation).

interface Target {
  name: string;
  /** Canonical column -> the names it goes by elsewhere. */
  required: Record<string, string[]>;
  optional?: Record<string, string[]>;
  /** Other names the format itself accepts for a canonical column (Alpaca reads `response` as `output`). */
  accepts?: Record<string, string[]>;
}

const PROMPT = ['question', 'query', 'context', 'input', 'instruction', 'problem'];
const ANSWER = ['answer', 'response', 'target', 'output', 'summary', 'solution', 'reply'];

const TARGETS: Target[] = [
  {
    name: 'preference pairs (prompt/chosen/rejected)',
    required: {
      prompt: PROMPT,
      chosen: ['chosen_response', 'response_chosen', 'answer_w', 'answer_winning', 'preferred', 'winner'],
      rejected: ['rejected_response', 'response_rejected', 'answer_l', 'answer_losing', 'dispreferred', 'loser'],
    },
    optional: { system: ['system_prompt'] },
  },
  {
    name: 'Alpaca (instruction/input/output)',
    required: { instruction: PROMPT.filter((c) => c !== 'input' && c !== 'instruction'), output: ANSWER.filter((c) => c !== 'response') },
    optional: { system: ['system_prompt'] },
    accepts: { output: ['response'] },
  },
  { name: 'prompt/completion', required: { prompt: PROMPT, completion: ANSWER }, optional: { system: ['system_prompt'] } },
  { name: 'ShareGPT (conversations)', required: { conversations: ['conversation', 'dialog', 'dialogue', 'chat', 'turns', 'dialogs'] } },
];

/** "rename question -> prompt, system_prompt -> system" for the closest format, or null. */
export function renameHint(columns: string[]): string | null {
  const have = new Set(columns);
  for (const t of TARGETS) {
    const renames: string[] = [];
    const used = new Set<string>();
    let ok = true;
    for (const [canon, aliases] of Object.entries(t.required)) {
      if (have.has(canon) || t.accepts?.[canon]?.some((c) => have.has(c))) continue;
      const alias = aliases.find((a) => have.has(a) && !used.has(a));
      if (!alias) {
        ok = false;
        break;
      }
      used.add(alias);
      renames.push(`${alias} -> ${canon}`);
    }
    if (!ok || renames.length === 0) continue;
    for (const [canon, aliases] of Object.entries(t.optional ?? {})) {
      const alias = aliases.find((a) => have.has(a));
      if (!have.has(canon) && alias) renames.push(`${alias} -> ${canon}`);
    }
    return `The columns look like ${t.name}: rename ${renames.join(', ')}.`;
  }
  return null;
}
