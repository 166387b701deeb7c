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
    // Domain code builds plans from observed state; the file system, processes, sockets and HTTP
    // belong to the clients (and to the config loader and the audit log, which are I/O by nature).
    files: ['src/lib/**/*.ts'],
    ignores: ['src/lib/clients/**', 'src/lib/config/load.ts', 'src/lib/config/secrets.ts', 'src/lib/plan/audit.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['execa', 'ioredis', 'pg', '@kubernetes/client-node', 'node:fs', 'node:fs/promises', 'node:child_process', 'node:net', 'fs', 'child_process', 'net'],
        patterns: ['@aws-sdk/*'],
      }],
      'no-restricted-globals': ['error', {name: 'fetch', message: 'HTTP goes through src/lib/clients.'}],
      // ...and not through a lazy import() either.
      'no-restricted-syntax': ['error', {
        selector: "ImportExpression[source.value=/^(node:)?(fs|fs\\/promises|child_process|net)$|^(execa|pg|ioredis|@kubernetes\\/client-node)$|^@aws-sdk\\//]",
        message: 'The file system, processes, sockets and SDKs belong to src/lib/clients.',
      }],
    },
  },
  {
    files: ['bin/**/*.js', 'bench/**/*.mjs', 'test/**/*.mjs', 'scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: {globals: globals.node},
  },
)
