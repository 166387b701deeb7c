// The drill's pure parts: what a probe record means (outage, loss, RTO/RPO, verdict), the plans
// each scenario gets from an observed environment, and the report's trend.
import {describe, expect, it} from 'vitest'
import {figures, loss, outage, phases, verdict, type Attempt} from '../../src/lib/drill/measure.js'
import {planDrill, unsupported, type DrillObserved, type DrillOptions} from '../../src/lib/drill/plan.js'
import {buildReport, reportHtml, type DrillRecord} from '../../src/lib/drill/history.js'
import {scenariosFor, SCENARIOS, targetsOf} from '../../src/lib/drill/scenarios.js'
import {planData} from '../../src/lib/plan/data.js'
import {EnvironmentSchema} from '../../src/lib/config/schema.js'
import type {DrillOperation} from '../../src/lib/plan/ops-drill.js'

const T = 1_800_000_000_000
/** A probe record: a write every 100 ms from T; `down` [from, to) ms fail. */
function record(ms: number, down?: [number, number], target: Attempt['target'] = 'postgres'): Attempt[] {
  const out: Attempt[] = []
  for (let t = 0, seq = 1; t < ms; t += 100, seq++) {
    const ok = !down || t < down[0] || t >= down[1]
    out.push({target, op: 'write', seq, startedAt: T + t, endedAt: T + t + 5, ok, ...(ok ? {} : {error: 'refused'})})
    if (ok) out.push({target, op: 'read', seq, startedAt: T + t + 5, endedAt: T + t + 8, ok: true})
  }
  return out
}

describe('what the probe saw', () => {
  it('measures the longest time without a successful write, bounded by the probe\'s run', () => {
    const a = record(10_000, [3000, 7000])
    const o = outage(a, 'write', T, T + 10_000)
    expect(o.longestGapMs).toBe(4100) // last ok at 2900+5, next ok at 7000+5
    expect(o.failed).toBe(40)
    expect(o.unrecovered).toBe(false)
    expect(o.from).toBe(new Date(T + 2905).toISOString())
    const healthy = outage(record(5000), 'write', T, T + 5000)
    expect(healthy.longestGapMs).toBeLessThanOrEqual(100)
    expect(healthy.from).toBeUndefined()
  })

  it('a target that never came back is unrecovered, and its RTO is not a number', () => {
    const a = record(5000, [2000, 99_999])
    expect(outage(a, 'write', T, T + 5000).unrecovered).toBe(true)
    const f = figures('availability', [{target: 'postgres', writes: outage(a, 'write', T, T + 5000), reads: outage(a, 'read', T, T + 5000)}], {faultAt: T + 2000})
    expect(f.rtoSeconds).toBeNull()
    expect(verdict(f, {rpoSeconds: 5, rtoSeconds: 30}).met).toBe(false)
  })

  it('acknowledged writes that did not survive are lost, and the RPO is their span up to the fault', () => {
    const a = record(5000)
    const survived = new Set(a.filter((x) => x.op === 'write' && x.seq <= 25).map((x) => x.seq)) // 26..50 gone
    const l = loss(a, survived, T + 5000)
    expect(l.acknowledged).toBe(50)
    expect(l.lost).toHaveLength(25)
    expect(l.spanMs).toBe(5000 - 2505)
    expect(l.rewound).toEqual([])
  })

  it('writes after a restore\'s target are rewound, not lost', () => {
    const a = record(5000)
    const survived = new Set(a.filter((x) => x.op === 'write' && x.seq <= 30).map((x) => x.seq))
    const l = loss(a, survived, T + 3000, T + 3000)
    expect(l.lost).toEqual([])
    expect(l.rewound).toHaveLength(20)
    expect(l.spanMs).toBe(0)
  })

  it('data scenarios time the recovery from the fault to the verification', () => {
    const f = figures('data', [], {faultAt: T, verifiedAt: T + 12_500})
    expect(f.rtoSeconds).toBe(12.5)
    expect(f.rpoSeconds).toBeNull() // nothing probed: not measured, so not met
    expect(verdict(f, {rpoSeconds: 60, rtoSeconds: 900}).missed).toEqual(['RPO not measured (target 60 s)'])
    expect(phases({faultAt: T, detectedAt: T + 2000, recoveryStartedAt: T + 2500, recoveredAt: T + 9000})).toEqual({detectionMs: 2000, decisionMs: 500, recoveryMs: 6500})
  })

  it('a missed target says which and by how much', () => {
    const v = verdict({rtoSeconds: 41.2, rpoSeconds: 0, lostWrites: 0, how: ''}, {rpoSeconds: 5, rtoSeconds: 30})
    expect(v).toMatchObject({met: false, rtoMet: false, rpoMet: true, missed: ['RTO 41.2 s > target 30 s']})
  })
})

const lab = {
  dir: '/tmp/lab',
  postgres: [1, 2, 3].map((i) => ({member: `pg-${i}`, patroniPidFile: `/tmp/lab/run/patroni-${i}.pid`, postmasterPidFile: `/pg/pg-${i}/data/postmaster.pid`})),
  redis: [1, 2, 3, 4, 5, 6].map((i) => ({address: `127.0.0.1:${7000 + i}`, pidFile: `/tmp/lab/run/redis-${i}.pid`})),
}
const s3 = {s3: {endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true}, bucket: 'vault-data'}
const observed = (o: Partial<DrillObserved> = {}): DrillObserved => ({run: '20261127T220000000Z', historyDir: '/tmp/h', lab,
  postgres: {cluster: 'vault-lab', endpoints: ['https://127.0.0.1:8008'], user: 'postgres', database: 'postgres', leader: 'pg-2', backups: 1, kubernetes: false},
  redis: {nodes: lab.redis.map((r) => r.address), victim: {address: '127.0.0.1:7003', slot: 15032}}, s3, ...o})
const opts: DrillOptions = {signal: 'SIGKILL', timeoutMs: 120_000, targets: {rpoSeconds: 5, rtoSeconds: 30}, intervalMs: 100, childArgs: ['--env', 'lab'], confirmArgs: []}
const env = {name: 'lab', protected: false}
const ops = (p: ReturnType<typeof planDrill>) => p.steps.map((s) => (s.op as DrillOperation).kind)

describe('drill plans', () => {
  it('primary loss kills the observed leader\'s Patroni and postmaster, waits for Patroni, and always undoes, measures, checks and records', () => {
    const p = planDrill('postgres-primary-loss', observed(), env, opts)
    expect(ops(p)).toEqual(['drill.probe-start', 'drill.signal', 'drill.await-recovery', 'drill.vaultctl', 'drill.probe-stop', 'drill.await-healthy', 'drill.record'])
    const fault = p.steps[1]!.op as Extract<DrillOperation, {kind: 'drill.signal'}>
    expect(fault).toMatchObject({signal: 'SIGKILL', fault: true, targets: [{pidFile: '/tmp/lab/run/patroni-2.pid'}, {pidFile: '/pg/pg-2/data/postmaster.pid'}]})
    expect(p.steps[1]!.risk).toBe('destructive')
    expect(p.steps.filter((s) => s.always).map((s) => s.id)).toEqual(['undo', 'probe-stop', 'healthy', 'record'])
    const d = planData(p)
    expect(d.typed).toBe(true)
    expect(d.steps[1]!.manual).toContain("kill -KILL $(head -1 /tmp/lab/run/patroni-2.pid) $(head -1 /pg/pg-2/data/postmaster.pid)")
    expect(d.steps[3]!.manual).toBe('vaultctl lab up --dir /tmp/lab')
    expect(p.confirmOnProtected).toBe(true)
  })

  it('a hung Redis master is undone with SIGCONT; a killed one is started again', () => {
    const stop = planDrill('redis-master-loss', observed(), env, {...opts, signal: 'SIGSTOP'})
    expect(stop.steps.find((s) => s.id === 'undo')!.op).toMatchObject({kind: 'drill.signal', signal: 'SIGCONT', targets: [{pidFile: '/tmp/lab/run/redis-3.pid'}]})
    expect(stop.steps.find((s) => s.id === 'await-failover')!.op).toMatchObject({redis: {oldMaster: '127.0.0.1:7003', slot: 15032}})
    expect(() => planDrill('redis-master-loss', observed({redis: {nodes: [], victim: {address: '127.0.0.1:7003', slot: 1, replicas: 0}}}), env, opts)).toThrow(/no healthy replica/)
    const kill = planDrill('redis-master-loss', observed(), env, opts)
    expect(kill.steps.find((s) => s.id === 'undo')!.op).toMatchObject({kind: 'drill.vaultctl', argv: ['lab', 'up', '--dir', '/tmp/lab']})
  })

  it('corruption restores to just before the fault, verifies the seeded rows, and passes --confirm to the restore on a protected environment', () => {
    const p = planDrill('postgres-corruption', observed(), {name: 'staging', protected: true}, {...opts, childArgs: ['--env', 'staging'], confirmArgs: ['--confirm', 'staging']})
    expect(ops(p)).toEqual(['drill.probe-start', 'drill.delete-rows', 'drill.switch-wal', 'drill.vaultctl', 'drill.vaultctl', 'drill.verify', 'drill.remove-kept', 'drill.probe-stop', 'drill.await-healthy', 'drill.record'])
    const restore = p.steps.find((s) => s.id === 'restore')!.op as Extract<DrillOperation, {kind: 'drill.vaultctl'}>
    // Its undo: the same restore again (without the drill's time limit), run even when the drill failed.
    const finish = p.steps.find((s) => s.id === 'finish-restore')!
    expect(finish.always).toBe(true)
    expect(finish.op).toMatchObject({kind: 'drill.vaultctl', purpose: 'finish', afterFailureOf: 'restore'})
    const timeoutAt = restore.argv.indexOf('--timeout')
    expect((finish.op as typeof restore).argv).toEqual(restore.argv.filter((_a, i) => i !== timeoutAt && i !== timeoutAt + 1))
    expect(planData(p).steps.find((s) => s.id === 'finish-restore')!.manual).toMatch(/^vaultctl restore pitr .*--dry-run --json \| jq -e \.plan\.observed\.continuing && vaultctl restore pitr .*--target-time "\$BEFORE_FAULT"/)
    expect(restore.argv.slice(0, 6)).toEqual(['restore', 'pitr', '--into', 'cluster', '--target-time', '{beforeFault}'])
    expect(restore.argv).toEqual(expect.arrayContaining(['--confirm', 'staging', '--env', 'staging']))
    expect(restore.retryCodes).toContain('TARGET_AFTER_LAST_COMMIT')
    expect(planData(p).steps.find((s) => s.id === 'restore')!.manual).toContain('--target-time "$BEFORE_FAULT"')
    expect((p.steps.find((s) => s.id === 'probe-stop')!.op as Extract<DrillOperation, {kind: 'drill.probe-stop'}>).rewindToFault).toBe(true)
    expect(() => planDrill('postgres-corruption', observed({postgres: {...observed().postgres!, backups: 0}}), env, opts)).toThrow(/no base backup/)
  })

  it('the S3 drill deletes only its own prefix and restores it with --undelete', () => {
    const p = planDrill('s3-prefix-deletion', observed(), env, opts)
    expect(p.steps[1]!.op).toMatchObject({kind: 'drill.delete-prefix', bucket: 'vault-data', prefix: 'vaultctl-drill/20261127T220000000Z/'})
    expect((p.steps[2]!.op as Extract<DrillOperation, {kind: 'drill.vaultctl'}>).argv).toEqual(expect.arrayContaining(['--undelete', '--to', '{beforeFault}']))
  })

  it('namespace deletion seeds its own namespace, backs it up, deletes it, restores it with Velero, and always deletes it at the end', () => {
    const p = planDrill('namespace-deletion', observed({kube: {cluster: {kubeconfig: '/k', context: 'lab'}, velero: true}}), env, opts)
    expect(p.steps.map((s) => s.id)).toEqual(['seed', 'backup', 'fault', 'restore', 'verify', 'cleanup', 'healthy', 'record'])
    const ns = 'vaultctl-drill-20261127t220000000z'
    expect(p.steps[2]!.op).toMatchObject({kind: 'drill.kube-delete-namespace', namespace: ns, fault: true})
    expect((p.steps[3]!.op as Extract<DrillOperation, {kind: 'drill.vaultctl'}>).argv.slice(0, 6)).toEqual(['restore', 'velero', '--from-backup', ns, '--include-namespaces', ns])
    expect(p.steps.find((s) => s.id === 'cleanup')!.always).toBe(true)
    expect(planData(p).steps[2]!.manual).toBe(`FAULT_AT=$(date -u +%FT%T.%3NZ); kubectl --kubeconfig /k --context lab delete namespace ${ns} --wait`)
  })

  it('scenarios an environment cannot run are refused with the reason; a schedule only lists its cadence and more frequent ones', () => {
    expect(unsupported('postgres-primary-loss', observed({lab: undefined}))).toMatch(/lab's processes/)
    expect(unsupported('redis-cache-loss', observed({redis: undefined}))).toMatch(/no redis/)
    expect(unsupported('namespace-deletion', observed())).toMatch(/no Kubernetes cluster/)
    expect(unsupported('namespace-deletion', observed({kube: {cluster: {kubeconfig: '/k'}, velero: false}}))).toMatch(/no velero section/)
    expect(unsupported('postgres-switchover', observed({lab: undefined}))).toBeUndefined()
    expect(() => planDrill('postgres-primary-loss', observed({lab: undefined}), env, opts)).toThrow(/cannot run on lab/)
    expect(() => planDrill('postgres-primary-loss', observed({postgres: {...observed().postgres!, leader: undefined}}), env, opts)).toThrow(/no running leader/)
    expect(scenariosFor('daily')).toEqual(['backup-validation'])
    expect(scenariosFor('weekly')).not.toContain('s3-prefix-deletion')
    expect(scenariosFor('monthly')).toEqual([...SCENARIOS])
  })

  it('targets come from drills.targets over the architecture\'s', () => {
    const e = EnvironmentSchema.parse({drills: {targets: {'postgres-primary-loss': {rto: '45s'}}}})
    expect(targetsOf(e)['postgres-primary-loss']).toEqual({rpoSeconds: 5, rtoSeconds: 45})
    expect(targetsOf(e)['redis-cache-loss']).toEqual({rpoSeconds: 1, rtoSeconds: 300})
    expect(EnvironmentSchema.safeParse({drills: {targets: {'no-such': {rto: '1s'}}}}).success).toBe(false)
  })
})

describe('the drill report', () => {
  const rec = (scenario: string, day: number, rto: number, met = true): DrillRecord => ({v: 1, run: `r${day}`, scenario, env: 'lab', at: `2026-11-${String(day).padStart(2, '0')}T03:00:00.000Z`,
    finishedAt: '', targets: {rpoSeconds: 5, rtoSeconds: 30}, rtoSeconds: rto, rpoSeconds: 0, lostWrites: 0, how: '', rpoMet: true, rtoMet: met, met, missed: met ? [] : [`RTO ${rto} s > target 30 s`],
    phases: {}, marks: {}, measures: [], status: 'completed'})
  const targets = targetsOf({})

  it('compares the latest drill with the median of the earlier ones and lists missed targets', () => {
    const r = buildReport('lab', [rec('postgres-primary-loss', 1, 20), rec('postgres-primary-loss', 8, 21), rec('postgres-primary-loss', 15, 40, false), rec('redis-master-loss', 15, 4)], targets)
    const pg = r.scenarios.find((s) => s.scenario === 'postgres-primary-loss')!
    expect(pg).toMatchObject({drills: 3, medianRtoSeconds: 20.5, trend: 'worse', latest: {rtoSeconds: 40, met: false}})
    expect(r.missed).toEqual(['postgres-primary-loss: RTO 40 s > target 30 s'])
    expect(r.scenarios.find((s) => s.scenario === 'redis-master-loss')).toMatchObject({drills: 1, latest: {met: true}})
    expect(r.scenarios.find((s) => s.scenario === 'redis-master-loss')!.trend).toBeUndefined()
    const html = reportHtml(r)
    expect(html.match(/<svg /g)).toHaveLength(2)
    expect(html).toContain('MISSED: RTO 40 s &#62; target 30 s')
  })

  it('records of another environment do not count', () => {
    expect(buildReport('prod', [rec('postgres-primary-loss', 1, 20)], targets).scenarios.every((s) => s.drills === 0)).toBe(true)
  })
})
