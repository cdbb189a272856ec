// Lint configuration. Besides style, it enforces the module boundaries of ARCHITECTURE.md:
// `api/` and `core/` are pure: no `node:*` or other I/O modules, no timers, no clock reads.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'net', 'http', 'https', 'dgram', 'dns',
  'process', 'timers', 'timers/*', 'worker_threads', 'cluster', 'crypto', 'stream', 'readline',
];

const pureRestrictions = {
  'no-restricted-imports': ['error', {
    patterns: [
      { group: nodeBuiltins, message: 'api/ and core/ are pure: no Node built-ins (see ARCHITECTURE.md).' },
      { group: ['**/agent/**', '**/runtime/**', '**/store/**', '**/server/**', '**/cli/**'],
        message: 'api/ and core/ may not import effectful modules.' },
    ],
  }],
  'no-restricted-globals': ['error',
    { name: 'setTimeout', message: 'core/ and api/ have no timers: return a wake-up time instead.' },
    { name: 'setInterval', message: 'core/ and api/ have no timers.' },
    { name: 'setImmediate', message: 'core/ and api/ have no timers.' },
    { name: 'queueMicrotask', message: 'core/ and api/ have no timers.' },
    { name: 'process', message: 'core/ and api/ may not touch the process.' },
    { name: 'performance', message: 'core/ and api/ may not read the clock: time is an argument.' },
    { name: 'require', message: 'ESM only.' },
  ],
  'no-restricted-syntax': ['error',
    { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'No clock reads in pure modules: time is an argument.' },
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'No clock reads in pure modules: `new Date()` reads the clock.' },
    { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'No randomness in pure modules: pass it in.' },
    { selector: 'ImportExpression', message: 'No dynamic imports in pure modules.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', clearTimeout: 'readonly' } },
  },
  // End-to-end tests read arbitrary Kubernetes JSON printed by the CLI.
  { files: ['test/e2e/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['src/core/**/*.ts', 'src/api/**/*.ts'], rules: pureRestrictions },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'api/ is pure: no Node built-ins (see ARCHITECTURE.md).' },
          { group: ['**/core/**', '**/agent/**', '**/runtime/**', '**/store/**', '**/server/**', '**/cli/**'],
            message: 'api/ imports nothing of ours (see ARCHITECTURE.md).' },
        ],
      }],
    },
  },
);
