// The lab's DR drill figures next to the architecture's targets: each scenario the lab supports,
// `runs` times (median, min, max of RTO; worst RPO; lost writes), through `vaultctl drill run --json`.
// There is no peer tool for a drill: the comparison is with the target each scenario promises.
//
// Needs a running lab (default: VAULTCTL_LAB_DIR, else /tmp/vaultctl-drill-lab, made here with
// --base-port 19000 when missing) with a base backup (taken here when there is none).
// Usage: scripts/with-node node bench/drills.mjs [runs] [scenario,...]
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const runs = Number(process.argv[2] ?? 3)
const all = ['postgres-primary-loss', 'postgres-switchover', 'postgres-corruption', 'redis-master-loss', 'redis-cache-loss', 's3-prefix-deletion', 'backup-validation']
const scenarios = process.argv[3] ? process.argv[3].split(',') : all
const labDir = process.env.VAULTCTL_LAB_DIR ?? '/tmp/vaultctl-drill-lab'
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const env = {...process.env, VAULTCTL_LAB_DIR: labDir, VAULTCTL_AUDIT_FILE: join(mkdtempSync(join(tmpdir(), 'vaultctl-bench-drills-')), 'audit.jsonl'), VAULTCTL_QUIET_PLAN: '1'}
const cli = (args) => spawnSync(process.execPath, [bin, ...args], {env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})

if (!existsSync(join(labDir, 'lab.json'))) {
  const up = cli(['lab', 'up', '--dir', labDir, '--base-port', '19000'])
  if (up.status !== 0) throw new Error(`lab up failed: ${up.stderr}`)
}
const backups = JSON.parse(cli(['backup', 'list', '--json']).stdout)
if (!backups.backups?.length) cli(['backup', 'create', '--yes'])

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const rows = []
for (const s of scenarios) {
  const recs = []
  for (let i = 0; i < runs; i++) {
    const r = cli(['drill', 'run', s, '--yes', '--json', '--timeout', '5m'])
    const res = JSON.parse(r.stdout)
    const rec = res.drills?.[0]?.record
    if (!rec) throw new Error(`${s}: ${r.stdout.slice(0, 2000)}`)
    recs.push(rec)
    process.stderr.write(`${s} #${i + 1}: RTO ${rec.rtoSeconds?.toFixed(2)} s, RPO ${rec.rpoSeconds?.toFixed(2)} s, lost ${rec.lostWrites}, ${rec.met ? 'met' : 'MISSED'}\n`)
  }
  const rto = recs.map((x) => x.rtoSeconds)
  const ph = (k) => median(recs.map((x) => x.phases[k] ?? 0)) / 1000
  rows.push({scenario: s, runs, rtoMedian: median(rto), rtoMin: Math.min(...rto), rtoMax: Math.max(...rto), rpoWorst: Math.max(...recs.map((x) => x.rpoSeconds ?? 0)),
    lost: recs.reduce((n, x) => n + x.lostWrites, 0), targets: recs[0].targets, met: recs.filter((x) => x.met).length,
    detection: ph('detectionMs'), decision: ph('decisionMs'), recovery: ph('recoveryMs')})
}
const date = new Date().toISOString().slice(0, 10)
console.log('| date | scenario | runs | RTO median (min-max) | RTO target | RPO worst | RPO target | lost writes | detection / decision / recovery (median) | met |')
console.log('|---|---|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${date} | ${r.scenario} | ${r.runs} | ${r.rtoMedian.toFixed(1)} s (${r.rtoMin.toFixed(1)}-${r.rtoMax.toFixed(1)}) | ${r.targets.rtoSeconds} s | ${r.rpoWorst.toFixed(1)} s | ${r.targets.rpoSeconds} s | ${r.lost} | ${r.detection.toFixed(1)} / ${r.decision.toFixed(1)} / ${r.recovery.toFixed(1)} s | ${r.met}/${r.runs} |`)
}
