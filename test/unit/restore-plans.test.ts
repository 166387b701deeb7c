// Observe, then plan: the restore planners are pure functions of a recorded state (JSON taken
// from the lab with test/helpers/record-state.mjs: a backup on timeline 3 after a switchover and
// a forced failover; pg-3 leads). State in, exact operations out.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {planData} from '../../src/lib/plan/data.js'
import {planIntoCluster, type IntoClusterState} from '../../src/lib/restore/into-cluster.js'
import {planSide, type PitrOptions, type PitrSource, type SideState} from '../../src/lib/restore/pitr.js'

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/state/${name}`, import.meta.url), 'utf8')) as T
const side = () => fixture<SideState>('restore-side.json')
const into = () => fixture<IntoClusterState>('restore-into-cluster.json')
const root = '/var/lib/postgresql/vaultctl-restores'
const src: PitrSource = {cluster: 'vault-lab', endpoints: ['http://127.0.0.1:14008', 'http://127.0.0.1:14009', 'http://127.0.0.1:14010'], user: 'postgres', database: 'postgres',
  binDir: '/usr/lib/postgresql/15/bin', location: {bucket: 'vault-backups', prefix: 'postgres/', cluster: 'vault-lab'},
  conn: {endpoint: 'http://127.0.0.1:14900', region: 'us-east-1', forcePathStyle: true}, patronictlConfig: '/lab/pg-1/patroni.yml'}
const env = {name: 'lab', protected: false}
const latest: PitrOptions = {target: {kind: 'latest'}, restoresRoot: root, osUser: {uid: 104, gid: 110}, timeoutMs: 600_000}
const s3 = {endpoint: 'http://127.0.0.1:14900', region: 'us-east-1', forcePathStyle: true}
const owner = {uid: 104, gid: 110}

describe('side restore plans (recorded: one backup on timeline 3)', () => {
  it('--latest resolves to the archived end, and each step is one operation', () => {
    const {plan, outcome} = planSide(src, env, latest, side())
    const dataDir = `${root}/vault-lab-latest-0-6FFFFFF`
    expect(outcome).toEqual({id: 'vault-lab-latest-0-6FFFFFF', dataDir, port: 15432, backup: '20261127T085101Z', logFile: `${dataDir}.log`, connection: 'postgresql://postgres@127.0.0.1:15432/postgres'})
    const marker = {id: 'vault-lab-latest-0-6FFFFFF', backup: '20261127T085101Z', target: 'the end of the archived WAL (latest)', port: 15432}
    const b = side().backups[0]!
    expect(plan.steps.map((x) => x.op)).toEqual([
      {kind: 'restore.prepare', restoresRoot: root, dataDir, spool: `${dataDir}.wal-spool`, runtime: `${dataDir}.wal-runtime`, binDir: src.binDir, marker, owner},
      {kind: 'wal.install-runtime', dir: `${dataDir}.wal-runtime`, cluster: 'vault-lab', endpoints: src.endpoints, bucket: 'vault-backups', prefix: 'postgres/', s3, owner},
      {kind: 'restore.fetch-base-backup', s3, bucket: 'vault-backups', key: b.key, sha256: b.sha256, bytes: b.bytes, dataDir, owner},
      // the history files, then the recovery path from the backup's start: the whole path, so .complete
      {kind: 'wal.prefetch', s3, bucket: 'vault-backups', prefix: 'postgres/', cluster: 'vault-lab', names: ['00000002.history', '00000003.history', '000000030000000000000006'],
        spool: `${dataDir}.wal-spool`, complete: true, workers: 8, owner},
      {kind: 'pg.recovery-settings', settings: {id: 'vault-lab-latest-0-6FFFFFF', dataDir, port: 15432, target: {kind: 'latest'}, spool: `${dataDir}.wal-spool`, runtimeDir: `${dataDir}.wal-runtime`}, owner},
      {kind: 'pg.start', binDir: src.binDir, dataDir, logFile: `${dataDir}.log`, owner},
      {kind: 'pg.await-promoted', port: 15432, user: 'postgres', database: 'postgres', logFile: `${dataDir}.log`, target: 'the end of the archived WAL (latest)', timeoutMs: 600_000},
      {kind: 'pg.verify-restored', port: 15432, user: 'postgres', database: 'postgres', logFile: `${dataDir}.log`},
      {kind: 'restore.mark-complete', dataDir, spool: `${dataDir}.wal-spool`, runtime: `${dataDir}.wal-runtime`, marker},
    ])
    const data = planData(plan)
    expect(data.typed).toBe(true)
    // The settings printed are the settings written (with the prefetcher's pid as a shell variable).
    const settings = data.steps.find((x) => x.id === 'recovery-settings')!.manual
    expect(settings).toContain(`restore_command = 'while [ ! -f ${dataDir}.wal-spool/%f ] && [ ! -e ${dataDir}.wal-spool/.done ] && [ -d /proc/$PREFETCH_PID ]; do sleep 0.05; done; if [ -f ${dataDir}.wal-spool/%f ]; then cp `)
    expect(settings).toContain(`recovery_target_action = 'promote'\nrecovery_target_timeline = 'latest'\n`)
    expect(settings).not.toMatch(/recovery_target_(time|lsn) =/) // --latest: no target, all archived WAL
    expect(data.steps.find((x) => x.id === 'prefetch-wal')!.manual).toMatch(/& PREFETCH_PID=\$!$/)
    expect(plan.fingerprint).toEqual({backup: '20261127T085101Z', sha256: b.sha256, dataDir: side().dataDir, port: 15432})
  })

  it('a time target writes recovery_target_time in UTC; refusals come from the state alone', () => {
    const at = new Date(side().window.latest!)
    const {plan} = planSide(src, env, {...latest, target: {kind: 'time', time: at}}, {...side(), dataDir: {path: '', content: 'absent'}})
    expect(planData(plan).steps.find((x) => x.id === 'recovery-settings')!.manual).toContain(`recovery_target_time = '${at.toISOString().replace('T', ' ').replace('Z', '+00')}'`)
    expect(plan.steps.find((x) => x.id === 'verify')!.op).toMatchObject({notAfter: at.toISOString()})
    expect(() => planSide(src, env, {...latest, target: {kind: 'time', time: new Date(at.getTime() + 1)}}, side())).toThrow(/is not restorable/)
    expect(() => planSide(src, env, latest, {...side(), dataDir: {...side().dataDir, content: 'foreign'}})).toThrow(/is not a vaultctl restore in progress/)
    expect(() => planSide(src, env, latest, {...side(), dataDir: {...side().dataDir, content: 'complete'}})).toThrow(/already holds a completed restore/)
    expect(planSide(src, env, latest, {...side(), dataDir: {...side().dataDir, content: 'restoring'}}).plan.steps[0]!.title).toMatch(/^clear the interrupted restore/)
  })
})

describe('restore into the cluster plans (recorded: pg-3 leads timeline 3)', () => {
  it('record, the side restore, then stop the replicas before the leader, swap, start, verify, reinit, resume, finish', () => {
    const {plan, outcome} = planIntoCluster(src, env, latest, into())
    const ids = plan.steps.map((x) => x.id)
    expect(ids.filter((x) => !x.startsWith('side-'))).toEqual(['record', 'await-timeline-archived', 'stop-side', 'pause', 'stop-pg-1', 'stop-pg-2', 'stop-pg-3', 'swap', 'start-leader', 'verify-leader', 'reinit-replicas', 'resume', 'finish'])
    // the cluster's timeline 3 history must be archived before the restore picks its timeline
    expect(plan.steps[1]!.op).toMatchObject({kind: 'wal.await-archived', bucket: 'vault-backups', keys: ['postgres/vault-lab/wal/00000003.history']})
    expect(ids.filter((x) => x.startsWith('side-'))).toHaveLength(9)
    const leaderDir = into().members.find((m) => m.name === 'pg-3')!.dataDir
    expect(plan.steps[0]!.op).toMatchObject({kind: 'restore.record', record: {id: 'vault-lab-latest-0-6FFFFFF', target: 'the end of the archived WAL (latest)', oldTimeline: 3,
      leader: {name: 'pg-3', dataDir: leaderDir}, restoredDir: `${leaderDir}.restore-latest-0-6FFFFFF`, oldDir: `${leaderDir}.pre-restore-latest-0-6FFFFFF`}})
    expect(plan.steps.find((x) => x.id === 'swap')).toMatchObject({risk: 'destructive', op: {kind: 'restore.swap-data-dir', dataDir: leaderDir, oldDir: `${leaderDir}.pre-restore-latest-0-6FFFFFF`}})
    expect(plan.steps.find((x) => x.id === 'reinit-replicas')!.op).toMatchObject({leader: 'pg-3', replicas: [{name: 'pg-1', api: 'http://127.0.0.1:14008'}, {name: 'pg-2', api: 'http://127.0.0.1:14009'}]})
    expect(plan.fingerprint).toMatchObject({leader: 'pg-3', timeline: 3, paused: false, continuing: false})
    expect(outcome.cluster).toMatchObject({leader: 'pg-3', timelineBefore: 3})
    expect(planData(plan).typed).toBe(true)
  })

  it('refuses a paused cluster, a member on another host, another target while one is unfinished; continues a run that swapped', () => {
    const s = into()
    expect(() => planIntoCluster(src, env, latest, {...s, cluster: {...s.cluster, paused: true}})).toThrow(/is paused/)
    expect(() => planIntoCluster(src, env, latest, {...s, members: s.members.map((m) => (m.name === 'pg-2' ? {...m, local: false} : m))})).toThrow(/not on this machine/)
    const {plan} = planIntoCluster(src, env, latest, s)
    const record = {...(plan.steps[0]!.op as {record: object}).record, status: 'in-progress' as const, startedAt: '2026-11-27T08:00:00Z'}
    const t = {...latest, target: {kind: 'time' as const, time: new Date('2026-11-27T08:51:03Z')}}
    expect(() => planIntoCluster(src, env, t, {...s, record: record as IntoClusterState['record']})).toThrow(/is unfinished/)
    const cont = planIntoCluster(src, env, latest, {...s, record: record as IntoClusterState['record'], oldDirExists: true, sideDone: true, cluster: {...s.cluster, paused: true}}).plan
    expect(cont.steps.map((x) => x.id)).toEqual(['record', 'stop-side', 'pause', 'stop-pg-1', 'stop-pg-2', 'stop-pg-3', 'swap', 'start-leader', 'verify-leader', 'reinit-replicas', 'resume', 'finish'])
    expect(cont.summary).toMatch(/continuing an interrupted run/)
    expect(cont.preconditions).toEqual([])
  })
})
