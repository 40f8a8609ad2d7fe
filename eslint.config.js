// Typed lint: the rules that catch real bugs in async engine code (floating promises, misused promises)
// plus import-type hygiene. Formatting is prettier's job, not eslint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tasker/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'off',
      // Fastify plugins and route handlers are async by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    // ARCHITECTURE.md's arrows, enforced: the engine never imports the HTTP side (api/, cli/, the
    // tasker-engine/fastify entry) — those are thin clients of the public library API.
    files: ['src/**/*.ts'],
    ignores: ['src/api/**', 'src/cli/**', 'src/fastify.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/api/*', '**/api/**', '**/cli/*', '**/fastify.js'],
              message: 'the engine must not import the HTTP side or the CLI',
            },
          ],
        },
      ],
    },
  },
  {
    // The HTTP API and the CLI are clients of Tasker's public surface: the engine's collaborators (store,
    // registries, resolved settings) stay behind it.
    files: ['src/api/**/*.ts', 'src/cli/**/*.ts', 'src/fastify.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['store', 'templates', 'handlers', 'telemetry'].map((property) => ({
          object: 'tasker',
          property,
          message: 'use Tasker public methods (catalog, settings, registerHandlers …), not its collaborators',
        })),
      ],
    },
  },
  {
    // The pure core: decisions only, no I/O, no adapters, nothing that reaches out of the process.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/store/**',
                '**/runtime/**',
                '**/telemetry/**',
                '**/api/**',
                '**/cli/**',
                '**/config/**',
                '**/templates/**',
                '**/triage/**',
                '**/tasker.js',
              ],
              message: 'core/ is pure: it imports only core/, errors and event types',
            },
            {
              group: [
                'node:*',
                '!node:crypto',
                'pg',
                'better-sqlite3',
                'fastify',
                'pino',
                '@opentelemetry/*',
                'prom-client',
              ],
              message: 'core/ does no I/O',
            },
          ],
        },
      ],
    },
  },
  {
    // The console (React): hooks rules; its own tsconfig (DOM, JSX) is found by the project service.
    files: ['console/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { ...reactHooks.configs.recommended.rules },
  },
  {
    // Tests read HTTP JSON bodies as loosely typed values; asserting their shape is the test's job.
    files: ['test/**/*.ts', 'console/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' },
    },
  },
);
