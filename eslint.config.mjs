import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'resources/**', '.native/**'] },
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      // layout is Prettier's (npm run lint checks it): no competing formatting rules
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
    },
  },
  {
    // Layering: only the Electron entry and its IPC binding may import 'electron'.
    files: ['src/**/*.ts', 'src/**/*.vue'],
    ignores: ['src/main/index.ts', 'src/main/ipc.ts', 'src/preload/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'Only src/main/index.ts, src/main/ipc.ts and the preload may import electron.' }] },
      ],
    },
  },
  {
    // Services orchestrate; the engine computes. They reach a capability of the engine only through
    // its index (engine/<capability>), never tfjs or sharp directly.
    files: ['src/main/services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'Only src/main/index.ts, src/main/ipc.ts and the preload may import electron.' },
            { name: 'sharp', message: 'Services do not decode images: use src/main/images or the engine.' },
          ],
          patterns: [
            { group: ['@tensorflow/*'], message: 'Services do no tensor work: call an engine capability through its index.' },
            { group: ['**/engine/*/*'], message: 'Import an engine capability through its index (engine/<capability>), not its files.' },
          ],
        },
      ],
    },
  },
  {
    // The renderer talks to main only through the contract.
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.vue'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/main/**', 'node:*', 'fs', 'path'], message: 'The renderer may import only src/shared.' }] },
      ],
    },
  },
);
