// A number input that lets the user type freely ("2e-", "0.") and commits only valid numbers.
// With `nullable`, an empty input means null ("off", e.g. eval_steps).
import { useEffect, useState } from 'react';

export interface NumberFieldProps {
  label: string;
  value: number | null;
  onChange: (value: number | null) => void;
  integer?: boolean;
  min?: number;
  /** The value must be above min, not equal to it (e.g. a learning rate > 0). */
  minExclusive?: boolean;
  max?: number;
  step?: number | 'any';
  help?: string;
  nullable?: boolean;
}

export function NumberField({ label, value, onChange, integer, min, minExclusive, max, step = 'any', help, nullable }: NumberFieldProps) {
  const shown = value === null ? '' : String(value);
  const [text, setText] = useState(shown);
  const [focused, setFocused] = useState(false);
  useEffect(() => {
    if (!focused) setText(shown);
  }, [shown, focused]);
  const parse = (t: string): { ok: boolean; value: number | null } => {
    if (t.trim() === '') return { ok: Boolean(nullable), value: null };
    const n = Number(t);
    const ok = Number.isFinite(n) && (!integer || Number.isInteger(n)) && (min === undefined || (minExclusive ? n > min : n >= min)) && (max === undefined || n <= max);
    return { ok, value: n };
  };
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <input
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        value={text}
        step={step}
        min={min}
        max={max}
        placeholder={nullable ? 'off' : undefined}
        aria-invalid={!parse(text).ok}
        title={help}
        onFocus={() => setFocused(true)}
        onBlur={() => {
          setFocused(false);
          setText(shown);
        }}
        onChange={(e) => {
          setText(e.target.value);
          const p = parse(e.target.value);
          if (p.ok) onChange(p.value);
        }}
      />
    </label>
  );
}
