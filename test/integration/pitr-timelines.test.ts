// What operators live through: a base backup, then switchovers and a forced failover (each a new
// timeline), then point-in-time restores to instants before, between and after them, to the last
// instant of the window `backup list` prints, and to the latest WAL; the daily validation after
// all that; an archive conflict on a diverged segment; and a lab restart that must not rewind.
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import type {BackupListResult} from '../../src/commands/backup/list.js'
import type {BackupValidateResult} from '../../src/commands/backup/validate.js'
import type {RestorePitrResult} from '../../src/commands/restore/pitr.js'
import {getCluster} from '../../src/lib/clients/patroni.js'
import {withPg} from '../../src/lib/clients/postgres.js'
import {lookupUser} from '../../src/lib/clients/process.js'
import {getObjectBytes, listObjects, putObject, s3Client} from '../../src/lib/clients/s3.js'
import {divergedPrefix, parseSegmentName, segmentName, walKey, walPrefix, type BackupLocation} from '../../src/lib/backup/layout.js'
import {latestHistory, onRestorablePath, parseHistory} from '../../src/lib/backup/window.js'
import {decodeWal} from '../../src/lib/backup/wal-codec.js'
import {BIN, vaultctl} from '../helpers/cli.js'
import {eventually, labCli, labEnv, labLayoutJson, labPorts, labSecret, patroniApi, pgConn, rows, sleep, status} from '../helpers/lab.js'

const loc: BackupLocation = {bucket: 'vault-backups', prefix: 'postgres/', cluster: 'vault-lab'}
const s3 = () => s3Client({endpoint: `http://127.0.0.1:${labPorts().s3}`, region: 'us-east-1', forcePathStyle: true, accessKeyId: labSecret('s3-access-key'), secretAccessKey: labSecret('s3-secret-key')})
const pgUser = lookupUser('postgres')
const restored: string[] = []

type Leader = {name: string; timeline: number}
async function leader(): Promise<Leader> {
  for (const m of ['pg-1', 'pg-2', 'pg-3']) {
    try {
      const c = await getCluster(patroniApi(m))
      const l = c.members.find((x) => ['leader', 'master', 'primary'].includes(x.role) && x.state === 'running')
      if (l) return {name: l.name, timeline: l.timeline!}
    } catch {
      // try the next member's API
    }
  }
  throw new Error('no leader')
}
const onLeader = async <T = Record<string, unknown>>(sql: string) => withPg(pgConn((await leader()).name), async (c) => (await c.query(sql)).rows as T[])
const healthy = () => eventually('a healthy cluster (leader + 2 streaming replicas)', 120_000, async () => (await status(['--component', 'postgres'])).code === 0)
const list = async () => (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()

/** One committed batch; returns the server's clock after the commit. */
async function batch(n: number): Promise<Date> {
  await onLeader(`insert into tl_t select ${n}, g from generate_series(1, ${n}) g`)
  const [r] = await onLeader<{at: Date}>('select clock_timestamp() as at')
  await sleep(1100)
  return new Date(r!.at)
}

async function switchover(extra: string[] = []): Promise<Leader> {
  const before = await leader()
  const r = await labCli(['failover', 'postgres', '--yes', '--wait-replicas', '--json', ...extra])
  expect(r.code, r.stderr).toBe(0)
  await healthy()
  const after = await leader()
  expect(after.timeline).toBeGreaterThan(before.timeline)
  return after
}

async function restore(args: string[]) {
  const r = await labCli(['restore', 'pitr', '--json', ...args])
  const res = r.json<RestorePitrResult & {error?: {code: string; message: string}}>()
  if (res.dataDir) restored.push(res.dataDir)
  return {code: r.code, res, stderr: r.stderr}
}
const batchesIn = (port: number) => withPg({...pgConn('pg-1'), port}, async (c) =>
  (await c.query<{batch: number; n: string}>('select batch, count(*) as n from tl_t group by 1 order by 1')).rows.map((r) => `${r.batch}x${r.n}`))

function stopRestored(dir: string): void {
  spawnSync('/usr/lib/postgresql/15/bin/pg_ctl', ['-D', dir, '-m', 'immediate', 'stop'], {stdio: 'ignore', ...(process.getuid?.() === 0 && pgUser ? {uid: pgUser.uid, gid: pgUser.gid} : {})})
  for (const p of [dir, `${dir}.log`, `${dir}.wal-spool`]) rmSync(p, {recursive: true, force: true})
}

/**
 * Commit, archive that WAL, and wait until `backup list`'s window reaches past `t` *and* that commit:
 * a window read before the commit's segment is archived would end earlier than the one the next
 * command sees (the race that made "one second after the end" restorable).
 */
async function archivedPast(t: Date): Promise<BackupListResult> {
  const [c] = await onLeader<{at: Date}>('select txid_current(), clock_timestamp() as at')
  await onLeader('select pg_switch_wal()')
  const committed = new Date(Math.floor(new Date(c!.at).getTime()))
  let l: BackupListResult | undefined
  await eventually(`the window reaches past ${t.toISOString()} and the commit at ${committed.toISOString()}`, 60_000, async () => {
    l = await list()
    // the window ends 1 ms before the last archived commit, which is at or after `committed`
    return Boolean(l.window.latest && new Date(l.window.latest) > t && new Date(l.window.latest).getTime() + 1 >= committed.getTime())
  })
  return l!
}

const t: Record<string, Date> = {}
const timelines: number[] = []

beforeAll(async () => {
  await healthy()
  await onLeader('drop table if exists tl_t; create table tl_t(batch int, id int)')
  const b = await labCli(['backup', 'create', '--json'])
  expect(b.code, b.stderr).toBe(0)
  timelines.push((await leader()).timeline)
  t.b1 = await batch(1) // before any switchover
  timelines.push((await switchover()).timeline)
  t.b2 = await batch(2) // after the first switchover
  timelines.push((await switchover()).timeline)
  t.b3 = await batch(3) // after the second
  const cur = await leader()
  const candidate = ['pg-1', 'pg-2', 'pg-3'].find((m) => m !== cur.name)!
  timelines.push((await switchover(['--failover', '--candidate', candidate, '--force'])).timeline)
  t.b4 = await batch(4) // after the forced failover
  await batch(5)
  await archivedPast(t.b4)
}, 300_000)

afterAll(() => {
  for (const d of restored) stopRestored(d)
})

describe('point-in-time restore across timelines (from a backup older than all of them)', () => {
  it('the archive holds several timelines, and the backup is older than all but the first', async () => {
    const l = await list()
    expect(new Set(timelines).size).toBe(4)
    expect(l.window.targetTimeline).toBe(timelines.at(-1))
    expect(l.backups.at(-1)!.timeline).toBe(timelines[0])
    expect(l.window.gaps).toEqual([])
    expect(l.window.ends).toBe('commits')
  })

  const cases: [string, () => Date, string[]][] = [
    ['before the first switchover', () => t.b1!, ['1x1']],
    ['between the two switchovers', () => t.b2!, ['1x1', '2x2']],
    ['between the second switchover and the forced failover', () => t.b3!, ['1x1', '2x2', '3x3']],
    ['after the forced failover', () => t.b4!, ['1x1', '2x2', '3x3', '4x4']],
  ]
  for (const [what, target, expected] of cases) {
    it(`to a time ${what}`, async () => {
      const {code, res, stderr} = await restore(['--target-time', target().toISOString()])
      expect(code, `${stderr}\n${res.error?.message ?? ''}`).toBe(0)
      expect(await batchesIn(res.port!)).toEqual(expected)
    })
  }

  it('to the latest WAL, asking for the newest timeline\'s history file more than once and getting it every time', async () => {
    const {code, res, stderr} = await restore(['--latest'])
    expect(code, stderr).toBe(0)
    expect(await batchesIn(res.port!)).toEqual(['1x1', '2x2', '3x3', '4x4', '5x5'])
    const newest = timelines.at(-1)!.toString(16).toUpperCase().padStart(8, '0')
    const log = readFileSync(res.logFile!, 'utf8')
    const asked = log.match(new RegExp(`restored log file "${newest}\\.history" from archive`, 'g')) ?? []
    expect(asked.length).toBeGreaterThanOrEqual(2)
  })

  it('accepts the last instant of the window backup list prints, and refuses one second after it', async () => {
    const l = await archivedPast(t.b4!)
    const end = new Date(l.window.latest!)
    expect(end > t.b4!).toBe(true)
    const at = await restore(['--target-time', end.toISOString()])
    expect(at.code, `${at.stderr}\n${at.res.error?.message ?? ''}`).toBe(0)
    expect(new Date(at.res.lastTransactionAt!) <= end).toBe(true)
    const after = await restore(['--target-time', new Date(end.getTime() + 1000).toISOString()])
    expect(after.code).toBe(3)
    expect(after.res.error?.message).toContain(end.toISOString())
  })

  it('backup validate passes after the switchovers and the failover', async () => {
    const r = await labCli(['backup', 'validate', '--json'])
    const res = r.json<BackupValidateResult>()
    expect(r.code, JSON.stringify(res.checks)).toBe(0)
    expect(res.checks.map((c) => c.id)).toEqual(['wal-continuity', 'backup-age', 'wal-rpo', 'amcheck'])
    expect(res.checks.every((c) => c.ok)).toBe(true)
  })
})

describe('interrupting a restore', () => {
  it('Ctrl-C stops a running restore at once, records it as interrupted, and the same command then completes', async () => {
    const target = new Date(t.b3!.getTime() + 7)
    const slug = target.toISOString().replace(/[-:]/g, '')
    const root = '/var/lib/postgresql/vaultctl-restores'
    const child = spawn(process.execPath, [BIN, 'restore', 'pitr', '--target-time', target.toISOString()], {env: {...process.env, ...labEnv(), NO_COLOR: '1'} as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    await eventually('the restore started writing', 30_000, async () => existsSync(root) && readdirSync(root).some((d) => d.includes(slug) && !d.endsWith('.log') && !d.endsWith('.wal-spool')))
    const t0 = Date.now()
    child.kill('SIGINT')
    const code = await exited
    expect(Date.now() - t0).toBeLessThan(15_000)
    expect(code, stderr).toBe(1)
    expect(stderr).toMatch(/interrupted/i)
    expect(stderr).toMatch(/Re-run the same command/)
    const audit = readFileSync(inject('auditFile'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {argv: string[]; status: string})
    expect(audit.reverse().find((a) => a.argv.includes(target.toISOString()))?.status).toBe('interrupted')
    const again = await restore(['--target-time', target.toISOString()])
    expect(again.code, again.stderr).toBe(0)
    expect(again.res.plan.steps[0]!.title).toMatch(/clear the interrupted restore/)
    expect(await batchesIn(again.res.port!)).toEqual(['1x1', '2x2', '3x3'])
  })

  it('--latest is resolved to an LSN when planned, so the same command names the same restore', async () => {
    const a = (await labCli(['restore', 'pitr', '--latest', '--dry-run', '--json'])).json<RestorePitrResult>()
    const b = (await labCli(['restore', 'pitr', '--latest', '--dry-run', '--json'])).json<RestorePitrResult>()
    expect(a.dataDir).toMatch(/vault-lab-latest-[0-9A-F]+-[0-9A-F]+$/)
    expect(b.dataDir).toBe(a.dataDir)
    expect(a.plan.observed?.latest).toMatch(/LSN/)
  })
})

describe('WAL archiving conflicts', () => {
  const pgWal = (member: string) => join(labLayoutJson().pgRoot, member, 'data', 'pg_wal')
  const own = (p: string) => pgUser && chownSync(p, pgUser.uid, pgUser.gid)
  function plant(member: string, name: string, body: Uint8Array): void {
    const f = join(pgWal(member), name)
    writeFileSync(f, body)
    chmodSync(f, 0o600)
    own(f)
    writeFileSync(join(pgWal(member), 'archive_status', `${name}.ready`), '')
    own(join(pgWal(member), 'archive_status', `${name}.ready`))
  }
  const archiving = async () => rows((await status(['--component', 'postgres'])).res, 'postgres').find((r) => r.name === 'archiving')!

  it('a diverged copy of a segment from an abandoned timeline is kept beside the archive, and archiving goes on', async () => {
    // The fork segment of the first switchover: the old timeline's copy is not on the restorable
    // path. One member archived its copy (here: the new leader's .partial, under the full name);
    // the leader's own copy differs past the fork point, as a rewound member's does.
    const history = (await onLeader<{h: string}>(`select pg_read_file('pg_wal/${timelines[1]!.toString(16).toUpperCase().padStart(8, '0')}.history') as h`))[0]!.h
    const forkLsn = history.trim().split('\n').filter((x) => /^\d/.test(x)).at(-1)!.split(/\s+/)[1]!
    const [hi, lo] = forkLsn.split('/').map((x) => parseInt(x, 16))
    const forkSegno = Math.floor((hi! * 0x1_0000_0000 + lo!) / (16 * 1024 * 1024))
    const name = segmentName(timelines[0]!, forkSegno)
    const client = await s3()
    try {
      const partial = await getObjectBytes(client, loc.bucket, walKey(loc, `${name}.partial`))
      expect(partial, `${name}.partial archived by the new leader`).toBeDefined()
      const segment = decodeWal(name, partial!.body, partial!.metadata) // stored zstd-compressed
      await putObject(client, loc.bucket, walKey(loc, name), segment, {sha256: 'archived-by-another-member'})
      const mine = Buffer.from(segment)
      mine.fill(0x5a, mine.length - 8192) // a different tail past the fork point
      const l = (await leader()).name
      const failedBefore = Number((await onLeader<{n: string}>('select failed_count as n from pg_stat_archiver'))[0]!.n)
      plant(l, name, mine)
      await onLeader('select txid_current()') // a switch of an empty segment is a no-op that wakes nobody
      await onLeader('select pg_switch_wal()')
      await eventually(`${name} handled by the archiver`, 30_000, async () => !existsSync(join(pgWal(l), 'archive_status', `${name}.ready`)))
      const kept = await listObjects(client, loc.bucket, divergedPrefix(loc))
      expect(kept.map((o) => o.key.slice(divergedPrefix(loc).length))).toContain(`${name}.${(await import('node:crypto')).createHash('sha256').update(mine).digest('hex').slice(0, 16)}`)
      expect(Number((await onLeader<{n: string}>('select failed_count as n from pg_stat_archiver'))[0]!.n)).toBe(failedBefore)
      const row = await archiving()
      expect(row.rating).toBe('ok')
      expect(row.detail).toMatch(/diverged cop(y|ies) from abandoned histories/)
      rmSync(join(pgWal(l), name), {force: true})
    } finally {
      client.destroy()
    }
  })

  it('a different copy of a segment on the restorable history is refused, and status says archiving is failing and why', async () => {
    // Move the leader past its wal_keep_size so that old segments leave its pg_wal.
    for (let i = 0; i < 10; i++) await onLeader('select txid_current(), pg_switch_wal()')
    await onLeader('checkpoint')
    const client = await s3()
    const l = (await leader()).name
    const local = new Set(readdirSync(pgWal(l)))
    const path = (await list()).window.backups.at(-1)!
    // an archived segment of the restorable path that the leader no longer holds itself
    const names = (await listObjects(client, loc.bucket, walPrefix(loc))).map((o) => o.key.slice(walPrefix(loc).length))
    const histories = await Promise.all(names.filter((n) => /^[0-9A-F]{8}\.history$/.test(n)).map(async (n) =>
      parseHistory(parseInt(n.slice(0, 8), 16), Buffer.from((await getObjectBytes(client, loc.bucket, walKey(loc, n)))!.body).toString('utf8'))))
    client.destroy()
    const newest = latestHistory(histories)
    const archived = names.filter((n) => parseSegmentName(n) && !local.has(n) && n <= path.lastSegment && onRestorablePath(n, newest) && parseSegmentName(n)!.timeline === path.timeline)
    const name = archived.sort().at(-1) ?? archived[0]
    expect(name, 'an archived segment of the first timeline').toBeDefined()
    plant(l, name!, Buffer.alloc(16 * 1024 * 1024, 0x33))
    try {
      await onLeader('select txid_current()')
      await onLeader('select pg_switch_wal()')
      await eventually('status shows archiving failing', 60_000, async () => (await archiving()).rating === 'crit')
      const row = await archiving()
      expect(row.state).toBe('failing')
      expect(row.detail).toContain(name)
      expect(row.detail).toMatch(/already archived with different content/)
      expect((await status()).code).toBe(1)
      expect((await list()).archiving?.rating).toBe('crit')
    } finally {
      rmSync(join(pgWal(l), 'archive_status', `${name}.ready`), {force: true})
      rmSync(join(pgWal(l), name!), {force: true})
    }
    await onLeader('select txid_current()')
    await onLeader('select pg_switch_wal()')
    await eventually('archiving recovers once the bad file is gone', 90_000, async () => (await archiving()).rating === 'ok')
  })
})

describe('a lab restart', () => {
  it('starts the most advanced member first: the same leader, no pg_rewind, archiving fine', async () => {
    const before = await leader()
    const logs = join(process.env.VAULTCTL_TEST_LAB_DIR ?? '/tmp/vaultctl-test-lab', 'logs')
    const rewinds = () => ['patroni-1', 'patroni-2', 'patroni-3'].map((s) => (readFileSync(join(logs, `${s}.log`), 'utf8').match(/running pg_rewind/g) ?? []).length)
    const rewindsBefore = rewinds()
    expect((await labCli(['lab', 'down', '--yes'])).code).toBe(0)
    const up = await labCli(['lab', 'up', '--json'])
    expect(up.code, up.stderr).toBe(0)
    await healthy()
    expect((await leader()).name).toBe(before.name)
    expect(rewinds()).toEqual(rewindsBefore)
    await eventually('archiving ok after the restart', 60_000, async () => rows((await status(['--component', 'postgres'])).res, 'postgres').find((r) => r.name === 'archiving')?.rating === 'ok')
  })
})

describe('backups that are restorable at once, and failed ones that leave nothing', () => {
  it('back-to-back backups on an idle cluster are each restorable to a time at once, and validate passes', async () => {
    await healthy()
    const ids: string[] = []
    for (let i = 0; i < 2; i++) {
      const b = await labCli(['backup', 'create', '--json'])
      expect(b.code, b.stderr).toBe(0)
      ids.push(b.json<{manifest: {id: string}}>().manifest.id)
    }
    let w: BackupListResult['window']['backups'] = []
    // Under CI load archive_command (a node process per file) can trail the two backups' WAL switches.
    await eventually('both backups restorable', 90_000, async () => {
      w = (await list()).window.backups.filter((x) => ids.includes(x.backup))
      return w.length === 2 && w.every((x) => x.timeTargets)
    })
    const newest = w.find((x) => x.backup === ids[1])!
    const r = await restore(['--target-time', newest.to])
    expect(r.code, r.res.error?.message).toBe(0)
    const v = await labCli(['backup', 'validate', '--json'])
    expect(v.code, v.stdout).toBe(0)
    expect(v.json<BackupValidateResult>().backup).toBe(ids[1])
  })

  it('a backup that fails on authentication leaves no base.tar', async () => {
    const doc = readFileSync(join(process.env.VAULTCTL_TEST_LAB_DIR ?? '/tmp/vaultctl-test-lab', 'vaultctl.yaml'), 'utf8')
      .replace(/passwordFrom:\n\s+file: \S+/, 'passwordFrom: {env: WRONG_PG_PASSWORD}')
    const dir = mkdtempSync(join(tmpdir(), 'vaultctl-badpw-'))
    const cfg = join(dir, 'vaultctl.yaml')
    writeFileSync(cfg, doc)
    const client = await s3()
    const baseObjects = async () => (await listObjects(client, loc.bucket, 'postgres/vault-lab/base/')).map((o) => o.key).sort()
    try {
      const before = await baseObjects()
      const incompleteBefore = (await list()).incomplete
      const bad = await vaultctl(['backup', 'create', '--config', cfg, '--env', 'lab'], {env: {VAULTCTL_LAB_DIR: undefined, VAULTCTL_CONFIG: undefined, WRONG_PG_PASSWORD: 'not-the-password', VAULTCTL_AUDIT_FILE: join(dir, 'audit.jsonl')}})
      expect(bad.code).toBe(1)
      expect(bad.stderr).toMatch(/password authentication failed|pg_basebackup exited/)
      expect(await baseObjects()).toEqual(before)
      expect((await list()).incomplete).toEqual(incompleteBefore)
    } finally {
      client.destroy()
    }
  })

  it('a validation whose restore fails reports that as a failed check, not as no checks', async () => {
    const r = await labCli(['backup', 'validate', '--timeout', '1ms', '--json'])
    const res = r.json<BackupValidateResult>()
    expect(r.code).toBe(4)
    expect(res.ok).toBe(false)
    expect(res.checks).toEqual([expect.objectContaining({id: 'restore', ok: false})])
    expect(res.checks[0]!.detail).toMatch(/could not be restored: .*recovery to the end of the archived WAL \(latest\) and promotion: not reached within/)
    // torn down even so: the instance that was still starting is stopped and its directory gone
    await sleep(1000)
    const root = '/var/lib/postgresql/vaultctl-restores'
    expect(existsSync(root) ? readdirSync(root).filter((d) => d.startsWith('validate-')) : []).toEqual([])
  })
})
