import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'coverage/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/lib/clients/**'],
    rules: {
      // SDKs, drivers and execa are imported only in src/lib/clients (and lazily there).
      'no-restricted-imports': ['error', {
        paths: ['execa', 'ioredis', 'pg', '@kubernetes/client-node'],
        patterns: ['@aws-sdk/*'],
      }],
    },
  },
  {
    files: ['bin/**/*.js', 'bench/**/*.mjs', 'test/**/*.mjs', 'eslint.config.js'],
    languageOptions: {globals: globals.node},
  },
)
