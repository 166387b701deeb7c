// Start-up of the commands that do no network work, against the floor `node -e 0`, measured in
// the same run with the same node, alternating runs so machine noise hits all alike; and
// `status` of a running lab (absolute: every component's real checks).
// Targets (issue 14): each local command <= 4x `node -e 0`; `status` of the lab <= 0.5 s.
// Usage: scripts/with-node node bench/local-startup.mjs [runs] [labDir]
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const runs = Number(process.argv[2] ?? 21)
const labDir = process.argv[3] ?? '/tmp/vaultctl-test-lab'
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'vaultctl-startup-'))
const env = {...process.env, VAULTCTL_LAB_DIR: labDir, VAULTCTL_AUDIT_FILE: join(work, 'audit.jsonl'), NO_COLOR: '1'}
delete env.VAULTCTL_CONFIG
// A saved plan for `plan show` (made once: a lab up plan with --plan-out changes nothing).
const planFile = join(work, 'plan.json')
spawnSync(process.execPath, [bin, 'lab', 'up', '--dir', labDir, '--plan-out', planFile], {env, stdio: 'ignore'})
writeFileSync(join(work, 'audit.jsonl'), '')

const cases = {
  'node -e 0': ['-e', '0'],
  'vaultctl env list': [bin, 'env', 'list'],
  'vaultctl config validate': [bin, 'config', 'validate'],
  'vaultctl config show': [bin, 'config', 'show'],
  'vaultctl audit list': [bin, 'audit', 'list'],
  ...(existsSync(planFile) ? {'vaultctl plan show': [bin, 'plan', 'show', planFile]} : {}),
}
const statusCase = [bin, 'status']
const times = Object.fromEntries([...Object.keys(cases), 'vaultctl status (lab)'].map((k) => [k, []]))

function once(args, allowFail = false) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, {stdio: 'ignore', env})
  if (r.status !== 0 && !allowFail) throw new Error(`${args.join(' ')} exited ${r.status}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

for (const args of Object.values(cases)) once(args) // warm the page cache and the compile cache
once(statusCase, true)
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(cases)) times[name].push(once(args))
  times['vaultctl status (lab)'].push(once(statusCase, true))
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const floor = median(times['node -e 0'])
console.log(`node ${process.version}, ${runs} alternating runs each, ${new Date().toISOString()}, lab ${labDir}`)
console.log('| command | median ms | ratio to node -e 0 |')
console.log('|---|---|---|')
for (const [name, xs] of Object.entries(times)) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / floor).toFixed(2)} |`)
const local = Object.keys(cases).filter((k) => k !== 'node -e 0')
const worst = Math.max(...local.map((k) => median(times[k]) / floor))
const status = median(times['vaultctl status (lab)'])
console.log(worst <= 4 ? `PASS: worst local ratio ${worst.toFixed(2)} <= 4` : `FAIL: worst local ratio ${worst.toFixed(2)} > 4`)
console.log(status <= 500 ? `PASS: status ${status.toFixed(0)} ms <= 500` : `FAIL: status ${status.toFixed(0)} ms > 500`)
process.exitCode = worst <= 4 && status <= 500 ? 0 : 1
