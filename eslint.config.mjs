// typescript-eslint's recommended rules for the TypeScript of the repository (`./runner.sh lint`).
// Formatting is prettier's (.prettierrc.json); eslint only looks for mistakes.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'test-results/', '.state/', 'bench/results/', 'grafana/dashboards/', 'secrets/'],
  },
  // StatsD's config files are one bare object literal (statsd evaluates them), not modules.
  { ignores: ['graphite/statsd/config.js', 'test/containers/standins/graphite-statsd/udp.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused names fail the build already (tsconfig noUnusedLocals/noUnusedParameters); a leading
      // underscore marks a parameter a signature requires (Express' error handler's `_next`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `require()` is how a CommonJS module loads what only some paths need (web-config's YAML parser).
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The backend's page runs in the browser, without a bundler.
    files: ['backend/public/**/*.js'],
    languageOptions: { globals: { ...globals.browser, uPlot: 'readonly' }, sourceType: 'script' },
  },
  {
    // A test reads a JSON answer field by field; its assertions are the type check.
    files: ['test/**/*.ts'],
    // A test reopens a fixture with `({ queue, counts } = open())`; the first run's half is unread by design.
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-useless-assignment': 'off' },
  },
);
