// The Kubernetes tests' own lab: S3 (MinIO), PostgreSQL (Patroni: real backups for the StatefulSet restore) and Kubernetes (etcd 3.6, the real control plane,
// kwok nodes), on ports base 27000, brought up once per run (an already running one is reused).
import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TestProject} from 'vitest/node'
import {BIN} from '../helpers/cli.js'

declare module 'vitest' {
  export interface ProvidedContext {
    kubeLabDir: string
  }
}

const dir = process.env.VAULTCTL_TEST_KUBE_LAB_DIR ?? '/tmp/vaultctl-test-kube'

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], {stdio: ['ignore', 'inherit', 'inherit'], env: {...process.env, NO_COLOR: '1', VAULTCTL_AUDIT_FILE: join(tmpdir(), 'vaultctl-test-setup-audit.jsonl')}})
  if (r.status !== 0) throw new Error(`vaultctl ${args.join(' ')} exited ${r.status}`)
}

export default function setup(project: TestProject) {
  const t0 = Date.now()
  cli(['lab', 'up', '--dir', dir, '--base-port', '27000', '--only', 's3,postgres', '--with', 'kubernetes'])
  process.stderr.write(`kubernetes test lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  project.provide('kubeLabDir', dir)
  project.provide('auditFile', join(mkdtempSync(join(tmpdir(), 'vaultctl-kt-')), 'audit.jsonl'))
  return () => {
    if (process.env.VAULTCTL_TEST_KEEP_LAB === '1') return
    cli(['lab', 'down', '--dir', dir, '--purge', '--yes'])
  }
}
