// Option parsers for commander that fail with one clear line naming the option.
import { InvalidArgumentError } from 'commander';

export function num(name: string, rule: { integer?: boolean; min?: number; max?: number } = {}) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError(`--${name} must be a number, got "${value}"`);
    if (rule.integer && !Number.isInteger(v)) throw new InvalidArgumentError(`--${name} must be a whole number, got "${value}"`);
    if (rule.min !== undefined && v < rule.min) throw new InvalidArgumentError(`--${name} must be at least ${rule.min}`);
    if (rule.max !== undefined && v > rule.max) throw new InvalidArgumentError(`--${name} must be at most ${rule.max}`);
    return v;
  };
}

export function bool(name: string) {
  return (value: string): boolean => {
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    throw new InvalidArgumentError(`--${name} must be true or false, got "${value}"`);
  };
}

export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}
