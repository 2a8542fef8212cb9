import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'test-results', 'playwright-report'] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    files: ['**/*.{ts,tsx}'],
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.browser, ...globals.node } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // Features never import each other (bulletproof-react): shared code lives in lib/ and components/.
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./\\.\\./[a-z]+/(api|components)/', message: 'Import shared code from lib/ or components/, not from another feature.' }] }],
    },
  },
);
