// Render + validate of all four environments with vaultctl, against the `helm template` calls
// alone (same chart, same values), in the same run. Alternating, N runs, medians.
// Usage: scripts/with-node node bench/provision.mjs [runs]
import {execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const runs = Number(process.argv[2] ?? 5)
const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin/run.js')
const helm = process.env.VAULTCTL_HELM ?? join(homedir(), '.cache/vaultctl/helm/bin/helm')
const schema = join(root, '../shared/fixtures/eksctl/clusterconfig.schema.json')
const work = mkdtempSync(join(tmpdir(), 'vaultctl-bench-provision-'))
const cfg = join(work, 'vaultctl.yaml')
writeFileSync(cfg, 'apiVersion: vaultctl/v1\nenvironments:\n  production: {protected: true}\n  staging: {}\n  development: {}\n  lab: {}\n')
const envs = ['production', 'staging', 'development', 'lab']
const env = {...process.env, NO_COLOR: "1", VAULTCTL_EKSCTL_SCHEMA: schema, VAULTCTL_EKSCTL: "/nonexistent/eksctl"}
const run = (file, args) => execFileSync(file, args, {env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20})
const time = (fn) => {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}
// The values helm template gets: vaultctl's rendered values.yaml per environment (rendered once here).
for (const e of envs) run(process.execPath, [bin, 'provision', 'render', '--config', cfg, '--env', e, '--out', join(work, e)])
const vaultctl = []
const helmOnly = []
for (let i = 0; i < runs; i++) {
  vaultctl.push(time(() => {
    for (const e of envs) {
      run(process.execPath, [bin, 'provision', 'render', '--config', cfg, '--env', e, '--out', join(work, `${e}-v`)])
      run(process.execPath, [bin, 'provision', 'validate', '--config', cfg, '--env', e, '--dir', join(work, `${e}-v`)])
    }
  }))
  helmOnly.push(time(() => {
    for (const e of envs) run(helm, ['template', 'llm-vault', join(root, 'templates/helm/llm-vault'), '--namespace', 'llm-vault-system', '--kube-version', '1.33', '-f', join(work, e, 'values.yaml')])
  }))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`${new Date().toISOString()}: ${runs} alternating runs, 4 environments`)
console.log('| procedure | median s (4 envs) |')
console.log('|---|---|')
console.log(`| helm template alone | ${(median(helmOnly) / 1000).toFixed(2)} |`)
console.log(`| vaultctl provision render + validate | ${(median(vaultctl) / 1000).toFixed(2)} |`)
console.log(`ratio ${(median(vaultctl) / median(helmOnly)).toFixed(2)}`)
