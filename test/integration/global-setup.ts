// Brings the lab up once per test run (idempotent: an already running test lab is reused), plus
// a second, S3-only lab on moto so that S3 tests run against both servers (and moto serves the
// RDS API the RDS tests use).
import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TestProject} from 'vitest/node'
import {BIN} from '../helpers/cli.js'

declare module 'vitest' {
  export interface ProvidedContext {
    labDir: string
    motoLabDir: string | null
    auditFile: string
  }
}

const labDir = process.env.VAULTCTL_TEST_LAB_DIR ?? '/tmp/vaultctl-test-lab'
/** In the environment of `lab up` (as an operator's AWS key would be): no lab daemon may get it. */
export const ENV_CANARY = 'canary-operator-env-secret-91b2'
const motoLabDir = `${labDir}-moto`

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], {stdio: ['ignore', 'inherit', 'inherit'], env: {...process.env, AWS_SECRET_ACCESS_KEY: ENV_CANARY, VAULTCTL_TEST_CANARY: ENV_CANARY, NO_COLOR: '1', VAULTCTL_AUDIT_FILE: join(tmpdir(), 'vaultctl-test-setup-audit.jsonl')}})
  if (r.status !== 0) throw new Error(`vaultctl ${args.join(' ')} exited ${r.status}`)
}

export default function setup(project: TestProject) {
  const t0 = Date.now()
  cli(['lab', 'up', '--dir', labDir, '--base-port', '14000'])
  let moto: string | null = motoLabDir
  if (process.env.VAULTCTL_TEST_SKIP_MOTO === '1') moto = null
  else cli(['lab', 'up', '--dir', motoLabDir, '--base-port', '15000', '--only', 's3', '--s3', 'moto'])
  process.stderr.write(`test labs up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  project.provide('labDir', labDir)
  project.provide('motoLabDir', moto)
  project.provide('auditFile', join(mkdtempSync(join(tmpdir(), 'vaultctl-it-')), 'audit.jsonl'))
  return () => {
    if (process.env.VAULTCTL_TEST_KEEP_LAB === '1') return
    cli(['lab', 'down', '--dir', labDir, '--purge', '--yes'])
    if (moto) cli(['lab', 'down', '--dir', motoLabDir, '--purge', '--yes'])
  }
}
