// Brings the lab up once per test run (idempotent: an already running test lab is reused), plus
// a second, S3-only lab on MinIO so that S3 tests run against both servers.
import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TestProject} from 'vitest/node'
import {BIN} from '../helpers/cli.js'

declare module 'vitest' {
  export interface ProvidedContext {
    labDir: string
    minioLabDir: string | null
    auditFile: string
  }
}

const labDir = process.env.VAULTCTL_TEST_LAB_DIR ?? '/tmp/vaultctl-test-lab'
const minioLabDir = `${labDir}-minio`

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], {stdio: ['ignore', 'inherit', 'inherit'], env: {...process.env, NO_COLOR: '1', VAULTCTL_AUDIT_FILE: join(tmpdir(), 'vaultctl-test-setup-audit.jsonl')}})
  if (r.status !== 0) throw new Error(`vaultctl ${args.join(' ')} exited ${r.status}`)
}

export default function setup(project: TestProject) {
  const t0 = Date.now()
  cli(['lab', 'up', '--dir', labDir, '--base-port', '14000'])
  let minio: string | null = minioLabDir
  if (process.env.VAULTCTL_TEST_SKIP_MINIO === '1') minio = null
  else cli(['lab', 'up', '--dir', minioLabDir, '--base-port', '15000', '--only', 's3', '--s3', 'minio'])
  process.stderr.write(`test labs up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  project.provide('labDir', labDir)
  project.provide('minioLabDir', minio)
  project.provide('auditFile', join(mkdtempSync(join(tmpdir(), 'vaultctl-it-')), 'audit.jsonl'))
  return () => {
    if (process.env.VAULTCTL_TEST_KEEP_LAB === '1') return
    cli(['lab', 'down', '--dir', labDir, '--purge', '--yes'])
    if (minio) cli(['lab', 'down', '--dir', minioLabDir, '--purge', '--yes'])
  }
}
