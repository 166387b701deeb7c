// Base backups, the restorable window and point-in-time restore against the lab's real
// PostgreSQL 15 (Patroni), WAL archived through `vaultctl wal push` into the lab's S3.
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {BackupCreateResult} from '../../src/commands/backup/create.js'
import type {BackupListResult} from '../../src/commands/backup/list.js'
import type {RestorePitrResult} from '../../src/commands/restore/pitr.js'
import {getCluster} from '../../src/lib/clients/patroni.js'
import {withPg} from '../../src/lib/clients/postgres.js'
import {lookupUser} from '../../src/lib/clients/process.js'
import type {SavedPlan} from '../../src/lib/plan/saved.js'
import {BIN} from '../helpers/cli.js'
import {eventually, labCli, labEnv, labSecret, patroniApi, pgConn, sleep, status} from '../helpers/lab.js'

type Batch = {batch: number; committedAt: Date; lsnAfter: string}
const batches: Batch[] = []
const restored: string[] = []
let beforeBackup: Date

const leaderMember = async () => {
  const c = await getCluster(patroniApi('pg-1'))
  return c.members.find((m) => m.role === 'leader' || m.role === 'master')!.name
}
const onLeader = async <T>(sql: string) => withPg(pgConn(await leaderMember()), async (c) => (await c.query(sql)).rows as T[])
const restore = async (args: string[]) => {
  const r = await labCli([...args, '--json'])
  const res = r.json<RestorePitrResult & {error?: {code: string; message: string; suggestions: string[]}}>()
  if (res.dataDir) restored.push(res.dataDir)
  return {code: r.code, res, stderr: r.stderr}
}
const rowsIn = (port: number) => withPg({...pgConn('pg-1'), port}, async (c) =>
  (await c.query<{batch: number; n: string}>('select batch, count(*) as n from pitr_t group by 1 order by 1')).rows.map((r) => [r.batch, Number(r.n)]))
const pg = lookupUser('postgres')
function stopRestored(dir: string): void {
  spawnSync('/usr/lib/postgresql/15/bin/pg_ctl', ['-D', dir, '-m', 'immediate', 'stop'], {stdio: 'ignore', ...(process.getuid?.() === 0 && pg ? {uid: pg.uid, gid: pg.gid} : {})})
  rmSync(dir, {recursive: true, force: true})
  rmSync(`${dir}.log`, {force: true})
}
const iso = (d: Date) => d.toISOString()
/** The same instant written with a +05:30 offset. */
const inIndia = (d: Date) => new Date(d.getTime() + 5.5 * 3600_000).toISOString().replace('Z', '+05:30')

beforeAll(async () => {
  await eventually('healthy', 90_000, async () => (await status(['--component', 'postgres'])).code === 0)
  beforeBackup = new Date()
  await sleep(1100)
  await onLeader('drop table if exists pitr_t; create table pitr_t(batch int, id int)')
  const b = await labCli(['backup', 'create', '--json'])
  expect(b.code, b.stderr).toBe(0)
  // Three batches, each its own transaction, a second or more apart.
  for (const batch of [1, 2, 3]) {
    await sleep(1200)
    const [row] = await onLeader<{at: Date; lsn: string}>(`insert into pitr_t select ${batch}, g from generate_series(1, ${batch * 10}) g returning clock_timestamp() as at, pg_current_wal_lsn()::text as lsn`)
    const [after] = await onLeader<{at: Date; lsn: string}>('select clock_timestamp() as at, pg_current_wal_lsn()::text as lsn')
    batches.push({batch, committedAt: new Date(after!.at), lsnAfter: after!.lsn})
    void row
  }
  await sleep(1200)
  // A commit after the last batch (recovery to a time after it must see one), then archive it.
  await onLeader('select txid_current()')
  await onLeader('select pg_switch_wal()')
  await eventually('the last batch archived', 30_000, async () => {
    const l = await labCli(['backup', 'list', '--json'])
    const w = l.json<BackupListResult>().window
    return Boolean(w.latest && new Date(w.latest) > batches[2]!.committedAt)
  })
}, 180_000)

afterAll(() => {
  for (const d of restored) stopRestored(d)
})

describe('backup create and list', () => {
  it('lists the base backup with its manifest and a window that starts at its end', async () => {
    const l = await labCli(['backup', 'list', '--json'])
    expect(l.code).toBe(0)
    const res = l.json<BackupListResult>()
    const newest = res.backups.at(-1)!
    expect(newest).toMatchObject({cluster: 'vault-lab', format: 'tar', wal: 'included'})
    expect(newest.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(new Date(newest.finishedAt) > beforeBackup).toBe(true)
    expect(res.window.backups.some((b) => b.backup === newest.id)).toBe(true)
    expect(res.window.gaps).toEqual([])
  })

  it('backup create --dry-run prints pg_basebackup and writes nothing to S3', async () => {
    const before = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()
    const r = await labCli(['backup', 'create', '--dry-run', '--json'])
    expect(r.code).toBe(0)
    expect(r.json<BackupCreateResult>().plan.steps[0]?.manual).toMatch(/pg_basebackup -h 127\.0\.0\.1 -p \d+ -U postgres -D - -F tar -X fetch/)
    const after = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()
    expect(after.backups.map((b) => b.id)).toEqual(before.backups.map((b) => b.id))
    expect(after.incomplete).toEqual(before.incomplete)
  })
})

describe('restore pitr', () => {
  it('to a time between two batches gives exactly the earlier batches; no copy of the S3 keys is left, the postmaster has none in its environment', async () => {
    const target = new Date((batches[0]!.committedAt.getTime() + batches[1]!.committedAt.getTime()) / 2)
    const canary = 'canary-operator-aws-secret-5d1e'
    const r = await labCli(['restore', 'pitr', '--target-time', iso(target), '--json'], undefined, {AWS_SECRET_ACCESS_KEY: canary, AWS_SESSION_TOKEN: canary})
    const res = r.json<RestorePitrResult>()
    if (res.dataDir) restored.push(res.dataDir)
    expect(r.code, r.stderr).toBe(0)
    expect(await rowsIn(res.port!)).toEqual([[1, 10]])
    expect(new Date(res.lastTransactionAt!) <= target).toBe(true)
    expect(res.execution?.status).toBe('succeeded')
    // restore_command's runtime (it held copies of the S3 keys) went with the WAL spool.
    expect(existsSync(`${res.dataDir}.wal-runtime`)).toBe(false)
    expect(existsSync(`${res.dataDir}.wal-spool`)).toBe(false)
    const keyCopies = spawnSync('grep', ['-rlF', labSecret('s3-secret-key'), dirname(res.dataDir!)], {encoding: 'utf8'})
    expect(keyCopies.stdout).toBe('')
    // The restored postmaster, left running, got a minimal environment from pg_ctl.
    const postmaster = Number(readFileSync(join(res.dataDir!, 'postmaster.pid'), 'utf8').split('\n')[0])
    const environ = readFileSync(`/proc/${postmaster}/environ`, 'utf8')
    expect(environ).toMatch(/(^|\0)PATH=/)
    expect(environ).not.toContain(canary)
  })

  it('into a --data-dir whose name holds a space, a ; and a shell command: restores there and runs nothing else', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'vaultctl-odd-'))
    chmodSync(parent, 0o777)
    const dataDir = join(parent, "d ir;touch pwned;'x")
    const target = new Date((batches[0]!.committedAt.getTime() + batches[1]!.committedAt.getTime()) / 2)
    const {code, res, stderr} = await restore(['restore', 'pitr', '--target-time', iso(target), '--data-dir', dataDir])
    expect(code, stderr + JSON.stringify(res.error ?? {})).toBe(0)
    expect(res.dataDir).toBe(dataDir)
    expect(await rowsIn(res.port!)).toEqual([[1, 10]])
    for (const d of [parent, process.cwd(), tmpdir(), res.dataDir!]) expect(existsSync(join(d, 'pwned')), d).toBe(false)
  })

  it('a target with a non-UTC offset restores to the right instant (restore --pitr spelling)', async () => {
    const target = new Date((batches[1]!.committedAt.getTime() + batches[2]!.committedAt.getTime()) / 2)
    const {code, res} = await restore(['restore', '--pitr', '--target-time', inIndia(target)])
    expect(code).toBe(0)
    expect(res.plan.summary).toContain(iso(target))
    expect(await rowsIn(res.port!)).toEqual([[1, 10], [2, 20]])
  })

  it('to an LSN and to the latest archived WAL', async () => {
    const byLsn = await restore(['restore', 'pitr', '--target-lsn', batches[1]!.lsnAfter])
    expect(byLsn.code).toBe(0)
    expect(await rowsIn(byLsn.res.port!)).toEqual([[1, 10], [2, 20]])
    const latest = await restore(['restore', 'pitr', '--latest'])
    expect(latest.code).toBe(0)
    expect(await rowsIn(latest.res.port!)).toEqual([[1, 10], [2, 20], [3, 30]])
  })

  it('refuses targets outside the window, with the window in the message', async () => {
    const early = await restore(['restore', 'pitr', '--target-time', iso(new Date('2020-01-01T00:00:00Z'))])
    expect(early.code).toBe(3)
    expect(early.res.error?.message).toMatch(/is not restorable: restorable window is \[\d{4}-.* \.\. \d{4}-.*\] from backup/)
    const late = await restore(['restore', 'pitr', '--target-time', iso(new Date(Date.now() + 3600_000))])
    expect(late.code).toBe(3)
    expect(late.res.error?.suggestions.join(' ')).toMatch(/pg_switch_wal|--latest/)
    const ambiguous = await labCli(['restore', 'pitr', '--target-time', '2026-11-26 12:00:00'])
    expect(ambiguous.code).toBe(2)
    expect(ambiguous.stderr).toMatch(/no UTC offset/)
  })

  it('--dry-run writes nothing: no data directory, S3 unchanged', async () => {
    const root = '/var/lib/postgresql/vaultctl-restores'
    const before = existsSync(root) ? readdirSync(root).sort() : []
    const s3Before = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()
    const target = new Date((batches[0]!.committedAt.getTime() + batches[1]!.committedAt.getTime()) / 2 + 1)
    const r = await labCli(['restore', 'pitr', '--target-time', iso(target), '--dry-run', '--json'])
    expect(r.code).toBe(0)
    const plan = r.json<RestorePitrResult>().plan
    expect(plan.steps.map((s) => s.id)).toEqual(['prepare', 'wal-runtime', 'fetch-base-backup', 'prefetch-wal', 'recovery-settings', 'start', 'wait-promoted', 'verify', 'mark-complete'])
    // Every step is an operation, and what is printed is made from it: the settings block shown is the one written.
    expect(plan.typed).toBe(true)
    const settings = plan.steps.find((s) => s.id === 'recovery-settings')!
    expect(settings.manual).toContain(`recovery_target_time = '${target.toISOString().replace('T', ' ').replace('Z', '+00')}'`)
    expect(settings.manual).toContain(`port = ${r.json<RestorePitrResult>().port}`)
    expect(settings.manual).toContain("archive_mode = 'off'")
    expect(existsSync(root) ? readdirSync(root).sort() : []).toEqual(before)
    const s3After = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()
    expect(s3After.walFiles).toBeGreaterThanOrEqual(s3Before.walFiles) // the live cluster keeps archiving; nothing removed
    expect(s3After.backups).toEqual(s3Before.backups)
  })

  it('a restore planned to a file changes nothing, and applies after more WAL was archived, with the same data', async () => {
    const target = new Date((batches[0]!.committedAt.getTime() + batches[1]!.committedAt.getTime()) / 2 + 5)
    const file = join(mkdtempSync(join(tmpdir(), 'vaultctl-pitr-plan-')), 'restore.json')
    const root = '/var/lib/postgresql/vaultctl-restores'
    const before = existsSync(root) ? readdirSync(root).sort() : []
    const planned = await labCli(['restore', 'pitr', '--target-time', iso(target), '--plan-out', file])
    expect(planned.code, planned.stderr).toBe(0)
    expect(existsSync(root) ? readdirSync(root).sort() : []).toEqual(before)
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan
    expect(saved.plan.typed).toBe(true)
    expect(saved.plan.steps.map((x) => x.op!.kind)).toEqual(['restore.prepare', 'wal.install-runtime', 'restore.fetch-base-backup', 'wal.prefetch', 'pg.recovery-settings', 'pg.start',
      'pg.await-promoted', 'pg.verify-restored', 'restore.mark-complete'])
    // The archive grows between plan and apply: the saved prefetch list still runs, no drift.
    const walBefore = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>().walFiles
    await onLeader('select txid_current()')
    await onLeader('select pg_switch_wal()')
    await eventually('one more WAL file archived', 30_000, async () => (await labCli(['backup', 'list', '--json'])).json<BackupListResult>().walFiles > walBefore)
    const applied = await labCli(['apply', file, '--json'])
    expect(applied.code, applied.stderr).toBe(0)
    const res = applied.json<RestorePitrResult>()
    if (res.dataDir) restored.push(res.dataDir)
    expect(res.plan.hash).toBe(saved.plan.hash)
    expect(await rowsIn(res.port!)).toEqual([[1, 10]])
    // Applied once: the same plan again finds its completed restore and is refused as drift.
    const again = await labCli(['apply', file, '--json'])
    expect(again.code).toBe(3)
    expect(again.stdout).toMatch(/PLAN_DRIFT|ALREADY_RESTORED/)
  })

  it('kill -9 during a restore leaves the cluster intact, and a re-run completes', async () => {
    const target = new Date((batches[1]!.committedAt.getTime() + batches[2]!.committedAt.getTime()) / 2 + 3)
    const countBefore = await onLeader<{n: string}>('select count(*) as n from pitr_t')
    const child = spawn(process.execPath, [BIN, 'restore', 'pitr', '--target-time', iso(target)], {env: {...process.env, ...labEnv(), NO_COLOR: '1'} as NodeJS.ProcessEnv, stdio: 'ignore'})
    const exited = new Promise((r) => child.on('exit', r))
    await eventually('the restore started writing', 30_000, async () => existsSync('/var/lib/postgresql/vaultctl-restores') && readdirSync('/var/lib/postgresql/vaultctl-restores').some((d) => d.includes(target.toISOString().replace(/[-:]/g, '')) && !d.endsWith('.log')))
    child.kill('SIGKILL')
    await exited
    expect(await onLeader<{n: string}>('select count(*) as n from pitr_t')).toEqual(countBefore)
    expect((await status(['--component', 'postgres'])).code).toBe(0)
    const again = await restore(['restore', 'pitr', '--target-time', iso(target)])
    expect(again.code, again.stderr).toBe(0)
    expect(await rowsIn(again.res.port!)).toEqual([[1, 10], [2, 20]])
    // The re-run cleared the interrupted run's runtime, and removed its own when done.
    expect(existsSync(`${again.res.dataDir}.wal-runtime`)).toBe(false)
  })
})
