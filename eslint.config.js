// Lint: TypeScript's recommended rules, plus the boundary that keeps WebGPU out of the UI —
// app/ may import engine *types* and app/engineClient.ts, nothing of the engine's internals
// (DESIGN.md example 10) — except pure modules: the recipe description (engine/recipe/: zod and data,
// which may in turn import only engine/errors.ts and engine/model/modules.ts), engine/errors.ts and
// engine/util/random.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'public/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-undef': 'off',
    },
  },
  {
    files: ['app/**/*.{ts,tsx}'],
    ignores: ['app/engineClient.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // gitignore semantics: a file under an excluded folder cannot be re-included, so
              // engine/api/ is re-included first, then only its types module is allowed.
              group: ['**/engine/**', '!**/engine/api/', '!**/engine/api/types*', '!**/engine/recipe/', '!**/engine/recipe/*', '!**/engine/errors.ts', '!**/engine/util/', '**/engine/util/*', '!**/engine/util/random.ts', '**/workers/**', 'webgpu', 'comlink'],
              allowTypeImports: true,
              message: 'app/ talks to the engine only through app/engineClient.ts (type imports, engine/recipe/, engine/errors.ts and engine/util/random.ts are fine: pure).',
            },
          ],
        },
      ],
    },
  },
  {
    // The studio bundles engine/recipe/: it must stay free of GPU code.
    files: ['engine/recipe/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '!../errors.ts', '!../model/', '../model/*', '!../model/modules.ts'],
              allowTypeImports: true,
              message: 'engine/recipe/ is pure (the studio imports it): only zod, engine/errors.ts and engine/model/modules.ts.',
            },
          ],
        },
      ],
    },
  },
);
