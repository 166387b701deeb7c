// `restore pitr --into cluster` against the lab's real Patroni cluster: the cluster's data is
// replaced by its state at a point in time, vaultctl is killed -9 in the middle of the outage,
// and a re-run finishes the job. The old data directory is kept.
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {BackupListResult} from '../../src/commands/backup/list.js'
import type {RestorePitrResult} from '../../src/commands/restore/pitr.js'
import {getCluster} from '../../src/lib/clients/patroni.js'
import {withPg} from '../../src/lib/clients/postgres.js'
import {BIN} from '../helpers/cli.js'
import {eventually, finishIntoClusterRestores, labCli, labEnv, labLayoutJson, patroniApi, pgConn, sleep, status} from '../helpers/lab.js'

type Json = RestorePitrResult & {error?: {code: string; message: string; suggestions: string[]}}
const members = ['pg-1', 'pg-2', 'pg-3']
const leaderMember = async () => (await getCluster(patroniApi('pg-1'))).members.find((m) => m.role === 'leader' || m.role === 'master')!.name
const onLeader = async <T>(sql: string) => withPg(pgConn(await leaderMember()), async (c) => (await c.query(sql)).rows as T[])
const rowsOn = (member: string) => withPg(pgConn(member), async (c) =>
  (await c.query<{batch: number; n: string}>('select batch, count(*) as n from restore_c group by 1 order by 1')).rows.map((r) => [r.batch, Number(r.n)]))
const restoresRoot = '/var/lib/postgresql/vaultctl-restores'
const stateFiles = () => (existsSync(restoresRoot) ? readdirSync(restoresRoot).filter((f) => f.endsWith('.into-cluster.json')).sort() : [])
let target: Date
let timelineBefore: number

beforeAll(async () => {
  await eventually('healthy', 90_000, async () => (await status(['--component', 'postgres'])).code === 0)
  await onLeader('drop table if exists restore_c; create table restore_c(batch int, id int)')
  const b = await labCli(['backup', 'create', '--json'])
  expect(b.code, b.stderr).toBe(0)
  await sleep(1100)
  await onLeader('insert into restore_c select 1, g from generate_series(1, 10) g')
  await sleep(1100)
  target = new Date()
  await sleep(1100)
  await onLeader('insert into restore_c select 2, g from generate_series(1, 20) g')
  await sleep(1100)
  await onLeader('select pg_switch_wal()')
  await eventually('batch 2 archived', 30_000, async () => {
    const w = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>().window
    // the window ends just before the last archived commit (batch 2's), which is after the target
    return Boolean(w.latest && new Date(w.latest) >= target)
  })
  timelineBefore = (await getCluster(patroniApi('pg-1'))).members.find((m) => m.role === 'leader' || m.role === 'master')!.timeline!
}, 180_000)

afterAll(async () => {
  await finishIntoClusterRestores()
  // The kept pre-restore data directories and the side logs of this test.
  const root = labLayoutJson().pgRoot
  for (const m of members) {
    for (const f of readdirSync(join(root, m))) if (/^data\.(pre-restore|restore)-/.test(f)) rmSync(join(root, m, f), {recursive: true, force: true})
  }
})

describe('restore pitr --into cluster (Patroni on hosts)', () => {
  it('--dry-run prints the whole procedure and changes nothing', async () => {
    const files = stateFiles()
    // What earlier restores (the drills') left beside the data directories stays as it is.
    const restoreFiles = async () => readdirSync(join(labLayoutJson().pgRoot, await leaderMember())).filter((f) => /^data\.(pre-restore|restore)-/.test(f)).sort()
    const before = await restoreFiles()
    const r = await labCli(['restore', 'pitr', '--into', 'cluster', '--target-time', target.toISOString(), '--dry-run', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const res = r.json<Json>()
    const leaderName = await leaderMember()
    const replicas = members.filter((m) => m !== leaderName)
    expect(res.plan.steps.map((s) => s.id).filter((id) => id !== 'await-timeline-archived')).toEqual(['record', 'side-prepare', 'side-wal-runtime', 'side-fetch-base-backup', 'side-prefetch-wal', 'side-recovery-settings', 'side-start',
      'side-wait-promoted', 'side-verify', 'side-mark-complete', 'stop-side', 'pause', ...replicas.map((m) => `stop-${m}`), `stop-${leaderName}`, 'swap', 'start-leader', 'verify-leader',
      'reinit-replicas', 'resume', 'finish'])
    expect(res.plan.typed).toBe(true)
    expect(res.plan.steps.find((s) => s.id === 'swap')!.risk).toBe('destructive')
    expect(res.plan.steps.find((s) => s.id === 'pause')!.manual).toContain(`-d '{"pause":true}'`)
    // The record step prints exactly what it writes.
    expect(res.plan.steps.find((s) => s.id === 'record')!.manual).toMatch(/^cat > \S+\.into-cluster\.json <<'EOF'\n\{\n {2}"status": "in-progress",\n {2}"id": "vault-lab-/)
    expect(stateFiles()).toEqual(files)
    expect(await restoreFiles()).toEqual(before)
    expect((await getCluster(patroniApi('pg-1'))).pause).toBeFalsy()
  })

  it('is refused without --yes when not on a terminal (destructive steps)', async () => {
    const r = await labCli(['restore', 'pitr', '--into', 'cluster', '--target-time', target.toISOString()])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/--yes/)
    expect((await getCluster(patroniApi('pg-1'))).pause).toBeFalsy()
  })

  it('kill -9 after the swap leaves the old data kept; a different target is refused; a re-run completes', async () => {
    // Patroni moves a data directory it failed to replace to data.failed: none may appear.
    const failedDirs = () => members.flatMap((m) => readdirSync(join(labLayoutJson().pgRoot, m)).filter((f) => f.startsWith('data.failed'))
      .map((f) => `${m}/${f}@${statSync(join(labLayoutJson().pgRoot, m, f)).mtimeMs}`))
    const failedBefore = failedDirs()
    const leader = await leaderMember()
    const dataDir = join(labLayoutJson().pgRoot, leader, 'data')
    const child = spawn(process.execPath, [BIN, 'restore', 'pitr', '--into', 'cluster', '--target-time', target.toISOString(), '--yes'],
      {env: {...process.env, ...labEnv(), NO_COLOR: '1'} as NodeJS.ProcessEnv, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
      if (/✔ swap data directories/.test(stderr)) child.kill('SIGKILL')
    })
    const code = await new Promise((r) => child.on('exit', (c, sig) => r(sig ?? c)))
    expect(code, stderr).toBe('SIGKILL')
    // Mid-outage: paused, the old data moved aside intact, the restored data in place.
    const old = readdirSync(dirname(dataDir)).find((f) => f.startsWith('data.pre-restore-'))
    expect(old).toBeDefined()
    expect(existsSync(join(dirname(dataDir), old!, 'PG_VERSION'))).toBe(true)
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true)
    expect((await getCluster(patroniApi('pg-1'))).pause).toBe(true)

    const other = await labCli(['restore', 'pitr', '--into', 'cluster', '--latest', '--yes', '--json'])
    expect(other.code).toBe(3)
    expect(other.json<Json>().error!.code).toBe('RESTORE_IN_PROGRESS')

    const again = await labCli(['restore', 'pitr', '--into', 'cluster', '--target-time', target.toISOString(), '--yes', '--json'])
    expect(again.code, again.stderr).toBe(0)
    const res = again.json<Json>()
    expect(res.plan.summary).toMatch(/continuing an interrupted run/)
    expect(res.plan.steps.map((s) => s.id)).not.toContain('side-fetch-base-backup') // the verified restore is reused
    expect(res.cluster).toMatchObject({leader, resumed: true})
    expect(res.cluster!.timeline).toBeGreaterThan(timelineBefore)
    expect(res.cluster!.oldDataDir).toBe(join(dirname(dataDir), old!))

    // Every member has exactly the data of the target: batch 1, not batch 2.
    for (const m of members) {
      await eventually(`${m} replays the restored data`, 30_000, async () => JSON.stringify(await rowsOn(m).catch(() => [])) === JSON.stringify([[1, 10]]))
    }
    const c = await getCluster(patroniApi('pg-1'))
    expect(c.pause).toBeFalsy()
    expect(c.members.every((m) => m.timeline === res.cluster!.timeline)).toBe(true)
    expect((await status(['--component', 'postgres'])).code).toBe(0)
    expect(failedDirs()).toEqual(failedBefore)
    // The new timeline's history reached the archive: the window now follows it.
    await onLeader('select pg_switch_wal()')
    await eventually('the window follows the new timeline', 30_000, async () =>
      (await labCli(['backup', 'list', '--json'])).json<BackupListResult>().window.targetTimeline === res.cluster!.timeline)
    // ...and the target stays restorable along it once the new timeline's first segment (with its
    // commits) is archived.
    await eventually('the target restorable on the new timeline', 60_000, async () =>
      (await labCli(['restore', 'pitr', '--target-time', target.toISOString(), '--dry-run', '--json'])).code === 0)
  }, 240_000)
})

describe('restore pitr --into cluster, planned to a file', () => {
  it('is refused after the leader changed (drift), and a fresh plan applies', async () => {
    await eventually('healthy', 90_000, async () => (await status(['--component', 'postgres'])).code === 0)
    // The operator removes the data kept by the previous restore once satisfied.
    const root = labLayoutJson().pgRoot
    for (const m of members) for (const f of readdirSync(join(root, m))) if (/^data\.pre-restore-/.test(f)) rmSync(join(root, m, f), {recursive: true, force: true})
    const dir = mkdtempSync(join(tmpdir(), 'vaultctl-into-plan-'))
    const args = ['restore', 'pitr', '--into', 'cluster', '--target-time', target.toISOString()]
    const first = await labCli([...args, '--plan-out', join(dir, 'a.json')])
    expect(first.code, first.stderr).toBe(0)
    const saved = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8')) as {plan: {typed: boolean; steps: {id: string}[]}; state: {leader: string}}
    expect(saved.plan.typed).toBe(true)
    const leader = await leaderMember()
    expect(saved.state.leader).toBe(leader)
    const candidate = members.find((m) => m !== leader)!
    const sw = await labCli(['failover', 'postgres', '--candidate', candidate, '--yes', '--json'])
    expect(sw.code, sw.stderr).toBe(0)
    await eventually('healthy after the switchover', 90_000, async () => (await status(['--component', 'postgres'])).code === 0)
    const refused = await labCli(['apply', join(dir, 'a.json'), '--yes', '--json'])
    expect(refused.code).toBe(3)
    expect(refused.json<Json>().error!.code).toBe('PLAN_DRIFT')
    expect(refused.json<Json>().error!.message).toContain(`leader: "${leader}" -> "${candidate}"`)
    expect((await getCluster(patroniApi('pg-1'))).pause).toBeFalsy()

    const second = await labCli([...args, '--plan-out', join(dir, 'b.json')])
    expect(second.code, second.stderr).toBe(0)
    const applied = await labCli(['apply', join(dir, 'b.json'), '--yes', '--json'])
    expect(applied.code, applied.stderr).toBe(0)
    const res = applied.json<Json>()
    expect(res.cluster).toMatchObject({leader: candidate, resumed: true})
    for (const m of members) {
      await eventually(`${m} replays the restored data`, 30_000, async () => JSON.stringify(await rowsOn(m).catch(() => [])) === JSON.stringify([[1, 10]]))
    }
  }, 240_000)
})

describe('restore pitr --into cluster (Patroni in a StatefulSet)', () => {
  // Executed through the Kubernetes API: test/kubernetes/restore-statefulset.test.ts. Here: an
  // environment naming a StatefulSet but no cluster is a usage error before anything is touched.
  it('without a cluster in the environment: exit 2 naming what to add; Patroni untouched', async () => {
    const {protectedLabConfig} = await import('../helpers/lab.js')
    const {readFileSync, writeFileSync} = await import('node:fs')
    const {parse, stringify} = await import('yaml')
    const file = protectedLabConfig()
    const doc = parse(readFileSync(file, 'utf8')) as {environments: Record<string, {postgres: Record<string, unknown>; kubernetes?: unknown}>}
    doc.environments.prodlike!.postgres.kubernetes = {statefulSet: 'postgres'}
    delete doc.environments.prodlike!.kubernetes
    writeFileSync(file, stringify(doc))
    const args = ['restore', '--pitr', '--into', 'cluster', '--target-time', target.toISOString(), '--config', file, '--env', 'prodlike', '--json']
    for (const extra of [['--dry-run'], ['--confirm', 'prodlike', '--yes']]) {
      const r = await labCli([...args, ...extra])
      expect(r.code, r.stdout + r.stderr).toBe(2)
      expect(r.json<{error: {code: string; suggestions: string[]}}>().error).toMatchObject({code: 'NO_KUBERNETES', suggestions: ['Add one to its config; postgres.kubernetes needs the cluster the StatefulSet runs in.']})
    }
    expect((await getCluster(patroniApi('pg-1'))).pause).toBeFalsy()
  })
})
