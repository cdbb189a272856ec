// Lint configuration. Besides style, it enforces the module boundaries of the architecture
// (the import table: who may import whom). Every layer under src/ is one zone, and an import
// that runs the wrong way fails the build:
//
//   api/      nothing of ours (pure)             core/    api/ (pure)
//   view/     api/ (pure, and runs in a browser too: the restart timeline the web UI and
//             `run --report` draw)
//   runtime/  api/ types only                    store/   api/
//   agent/    core/, api/, the runtime port (runtime/types.ts) and the store port
//             (store/types.ts); never a concrete runtime or store, never server/ or cli/
//   server/   api/, store/, the agent's interface (agent/node-api.ts and its domain errors,
//             agent/errors.ts); never core/, runtime/ or cli/
//   cli/      everything: it is the composition root that picks the concrete adapters;
//             inside it, only main.ts imports serve.ts (credentials live in credentials.ts)
//
// The agent reaches the store through an interface (store/types.ts, implemented by
// store/file-store.ts and handed in by cli/serve.ts), not through `import type` of the concrete
// class: the port then states what the agent relies on, and a fake store needs no cast.
// `api/` and `core/` are also pure: no `node:*` or other I/O modules, no timers, no clock reads.
// scripts/ and test/ are outside the zones; ui/ (the browser app) may import api/ and view/ only.
//
// Each zone sets `@typescript-eslint/no-restricted-imports` (the base rule plus
// `allowTypeImports`) in exactly one block: in flat config a later block naming the same rule
// replaces its options, so zones must not overlap. Cross-layer imports must be static
// `import`/`export ... from` statements, which the rule sees: `import()` of another layer is
// refused by `no-restricted-syntax`, `import('..').T` by `consistent-type-imports`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'net', 'http', 'https', 'dgram', 'dns',
  'process', 'timers', 'timers/*', 'worker_threads', 'cluster', 'crypto', 'stream', 'readline',
];

/** The layers under src/, one lint zone each. */
const LAYERS = ['api', 'core', 'view', 'runtime', 'store', 'agent', 'server', 'cli'];

/** One import zone: the patterns a layer may not import. */
const zone = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

/** Refuses every layer other than `self` and the `allowed` ones; `why` ends the message. */
const onlyLayers = (self, allowed, why) =>
  LAYERS.filter((l) => l !== self && !allowed.includes(l)).map((l) => ({
    group: [`**/${l}/*`],
    message: `${self}/ may not import ${l}/: ${why} (see the import table in eslint.config.js).`,
  }));

/** Refuses every file of `layer` but the `allowed` ones (its port), for the zone of `self`. */
const onlyPort = (layer, self, allowed, why) => ({
  group: [`**/${layer}/*`, ...allowed.map((f) => `!**/${layer}/${f}`)],
  message: `${self}/ may import from ${layer}/ only ${allowed.join(' and ')}: ${why} (see eslint.config.js).`,
});

/**
 * A dynamic import of another layer would slip past the import zones (`import('..').T` types
 * are already refused everywhere by `consistent-type-imports`).
 */
const crossLayerImportExpression = { selector: "ImportExpression[source.value=/^\\.\\.\\//]", message: 'Import other layers statically, so that the lint zones see it.' };

const pureRestrictions = {
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

const pureImports = { group: nodeBuiltins, message: 'api/ and core/ are pure: no Node built-ins, I/O is for the other layers (see eslint.config.js).' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.cache/**'] },
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
  { files: ['src/core/**/*.ts', 'src/api/**/*.ts', 'src/view/**/*.ts'], rules: pureRestrictions },
  { files: ['src/runtime/**/*.ts', 'src/store/**/*.ts', 'src/agent/**/*.ts', 'src/server/**/*.ts'], rules: { 'no-restricted-syntax': ['error', crossLayerImportExpression] } },
  // ------------------------------------------------------------------ import zones, one per layer
  { files: ['src/api/**/*.ts'], rules: zone(pureImports, ...onlyLayers('api', [], 'every other layer builds on it, it imports nothing of ours')) },
  { files: ['src/core/**/*.ts'], rules: zone(pureImports, ...onlyLayers('core', ['api'], 'core is pure and imports only api/')) },
  { files: ['src/view/**/*.ts'], rules: zone(pureImports, ...onlyLayers('view', ['api'], 'the timeline is drawn from API objects, in Node and in the browser')) },
  {
    files: ['src/runtime/**/*.ts'],
    rules: zone(
      { group: ['**/api/*'], allowTypeImports: true, message: 'runtime/ may import api/ types only (`import type`): a runtime reports facts and decides nothing (see eslint.config.js).' },
      ...onlyLayers('runtime', ['api'], 'a runtime reports facts, it never decides'),
    ),
  },
  { files: ['src/store/**/*.ts'], rules: zone(...onlyLayers('store', ['api'], 'it keeps records it does not need to understand')) },
  {
    files: ['src/agent/**/*.ts'],
    rules: zone(
      onlyPort('runtime', 'agent', ['types.js'], 'the ContainerRuntime port; cli/ picks the adapter'),
      onlyPort('store', 'agent', ['types.js'], 'the PodStore port; cli/ picks the store'),
      ...onlyLayers('agent', ['api', 'core', 'runtime', 'store'], 'it raises domain errors (agent/errors.ts) and is driven through its interface (agent/node-api.ts)'),
    ),
  },
  {
    files: ['src/server/**/*.ts'],
    rules: zone(
      onlyPort('agent', 'server', ['node-api.js', 'errors.js'], "the agent's interface and its domain errors"),
      ...onlyLayers('server', ['api', 'store', 'agent'], 'pods are decided and run by the agent, behind its interface'),
    ),
  },
  // ui/ (the web UI, built by Vite for the browser) draws with view/ and prints with api/; it
  // reaches the daemon only over HTTP, never by importing another layer.
  {
    files: ['ui/**/*.ts'],
    rules: zone(
      { group: nodeBuiltins, message: 'ui/ runs in the browser: no Node built-ins.' },
      ...LAYERS.filter((l) => l !== 'api' && l !== 'view').map((l) => ({ group: [`**/src/${l}/*`], message: `ui/ may import only src/api/ and src/view/ (it talks to the daemon over HTTP), not src/${l}/.` })),
    ),
  },
  // cli/ is the composition root: it may import every layer. Inside it, only main.ts wires the
  // daemon: a client verb that imported serve.ts for a helper once created the daemon's token.
  {
    files: ['src/cli/**/*.ts'],
    ignores: ['src/cli/main.ts'],
    rules: zone({ group: ['./serve.js'], message: 'Only main.ts imports serve.ts; data dir, token and TLS helpers are in credentials.ts.' }),
  },
);
