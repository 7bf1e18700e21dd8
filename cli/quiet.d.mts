// Types of cli/quiet.mjs (plain JavaScript: cli/bin.js loads it before TypeScript support is registered).
export const DAWN_NOISE: RegExp;
export function noiseFilter(): { push(chunk: string): string; end(): string };
export function runsDirectly(argv?: string[], env?: Record<string, string | undefined>): boolean;
export function runFiltered(script: string): Promise<number>;
