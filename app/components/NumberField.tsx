// A number input that lets the user type freely ("2e-", "0.") and commits only valid numbers.
import { useEffect, useState } from 'react';

export interface NumberFieldProps {
  label: string;
  value: number;
  onChange: (value: number) => void;
  integer?: boolean;
  min?: number;
  max?: number;
  step?: number | 'any';
  help?: string;
}

export function NumberField({ label, value, onChange, integer, min, max, step = 'any', help }: NumberFieldProps) {
  const [text, setText] = useState(String(value));
  const [focused, setFocused] = useState(false);
  useEffect(() => {
    if (!focused) setText(String(value));
  }, [value, focused]);
  const parsed = Number(text);
  const valid = text.trim() !== '' && Number.isFinite(parsed) && (!integer || Number.isInteger(parsed)) && (min === undefined || parsed >= min) && (max === undefined || parsed <= max);
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
        aria-invalid={!valid}
        title={help}
        onFocus={() => setFocused(true)}
        onBlur={() => {
          setFocused(false);
          setText(String(value));
        }}
        onChange={(e) => {
          setText(e.target.value);
          const n = Number(e.target.value);
          if (e.target.value.trim() !== '' && Number.isFinite(n) && (!integer || Number.isInteger(n)) && (min === undefined || n >= min) && (max === undefined || n <= max)) onChange(n);
        }}
      />
    </label>
  );
}
