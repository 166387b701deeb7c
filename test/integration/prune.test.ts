// Compressed backups and retention, as operators live through them: backups in zstd, lz4 and none
// with switchovers between them (three timelines), WAL stored compressed, then `backup prune` as of
// a week after the middle backup — on a server-side copy of the lab's archive, so the other tests
// keep theirs — and a point-in-time restore from the pruned copy across the timeline switch.
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {parse, stringify} from 'yaml'
import type {BackupCreateResult} from '../../src/commands/backup/create.js'
import type {BackupListResult} from '../../src/commands/backup/list.js'
import type {BackupPruneResult} from '../../src/commands/backup/prune.js'
import type {RestorePitrResult} from '../../src/commands/restore/pitr.js'
import type {BackupManifest} from '../../src/lib/backup/base.js'
import {parseLsn, parseSegmentName, segnoOf} from '../../src/lib/backup/layout.js'
import {getCluster} from '../../src/lib/clients/patroni.js'
import {withPg} from '../../src/lib/clients/postgres.js'
import {headObject, listObjects, s3Client} from '../../src/lib/clients/s3.js'
import {deleteBatch, listVersions} from '../../src/lib/clients/s3-versions.js'
import {vaultctl} from '../helpers/cli.js'
import {eventually, labCli, labPorts, labSecret, patroniApi, pgConn, sleep, status} from '../helpers/lab.js'

const s3 = () => s3Client({endpoint: `http://127.0.0.1:${labPorts().s3}`, region: 'us-east-1', forcePathStyle: true, accessKeyId: labSecret('s3-access-key'), secretAccessKey: labSecret('s3-secret-key')})
const BUCKET = 'vault-backups'
const FROM = 'postgres/vault-lab/'
const COPY = 'prune-test/vault-lab/'

async function leaderName(): Promise<string> {
  for (const m of ['pg-1', 'pg-2', 'pg-3']) {
    try {
      const l = (await getCluster(patroniApi(m))).members.find((x) => ['leader', 'master', 'primary'].includes(x.role) && x.state === 'running')
      if (l) return l.name
    } catch {
      // the next member's API
    }
  }
  throw new Error('no leader')
}
const onLeader = async <T = Record<string, unknown>>(sql: string) => withPg(pgConn(await leaderName()), async (c) => (await c.query(sql)).rows as T[])
const healthy = () => eventually('a healthy cluster', 120_000, async () => (await status(['--component', 'postgres'])).code === 0)
async function batch(n: number): Promise<Date> {
  await onLeader(`insert into pr_t select ${n}, g from generate_series(1, ${n}) g`)
  const [r] = await onLeader<{at: Date}>('select clock_timestamp() as at')
  await sleep(1100)
  return new Date(r!.at)
}
async function backup(args: string[] = []): Promise<BackupManifest> {
  const r = await labCli(['backup', 'create', '--json', ...args])
  expect(r.code, r.stderr).toBe(0)
  return r.json<BackupCreateResult>().manifest!
}
/** A switchover; refused (exit 3) while a replica still lags after the backup's WAL switch: tried again. */
async function switchover(): Promise<void> {
  let r = await labCli(['failover', 'postgres', '--yes', '--wait-replicas', '--json'])
  for (let i = 0; i < 10 && r.code === 3; i++) {
    await sleep(2000)
    r = await labCli(['failover', 'postgres', '--yes', '--wait-replicas', '--json'])
  }
  expect(r.code, `${r.stderr}\n${r.stdout.slice(0, 2000)}`).toBe(0)
  await healthy()
}

/** The lab's config with one more environment whose backups are the copy under prune-test/. */
let configFile = ''
const copyCli = (args: string[]) => vaultctl([...args, '--env', 'prunetest'], {env: {VAULTCTL_CONFIG: configFile, VAULTCTL_ENV: undefined, VAULTCTL_LAB_DIR: undefined, VAULTCTL_AUDIT_FILE: inject('auditFile')}})

const m: Record<string, BackupManifest> = {}
const t: Record<string, Date> = {}
let restoredDir = ''

/** Every version under the copy's prefix, gone (before the test: a re-run starts clean; after: the lab stays bounded). */
async function dropCopy(): Promise<void> {
  const c = await s3()
  try {
    const all = (await listVersions(c, BUCKET, COPY)).map((v) => ({key: v.key, versionId: v.versionId}))
    for (let i = 0; i < all.length; i += 1000) await deleteBatch(c, BUCKET, all.slice(i, i + 1000))
  } finally {
    c.destroy()
  }
}

beforeAll(async () => {
  await healthy()
  await onLeader('drop table if exists pr_t; create table pr_t(batch int, id int)')
  m.zstd = await backup()
  t.b1 = await batch(1)
  await switchover()
  m.lz4 = await backup(['--compression', 'lz4'])
  t.b2 = await batch(2)
  await switchover()
  m.none = await backup(['--compression', 'none'])
  t.b3 = await batch(3)
  await onLeader('select txid_current()')
  await onLeader('select pg_switch_wal()')
  await eventually('the window reaches past the last batch', 60_000, async () => {
    const l = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()
    return Boolean(l.window.latest && new Date(l.window.latest) > t.b3!)
  })
  await dropCopy()
  // a server-side copy of the whole archive (metadata kept): prune works on real objects without taking the other tests' WAL
  const c = await s3()
  try {
    const {CopyObjectCommand} = await import('@aws-sdk/client-s3')
    const objs = await listObjects(c, BUCKET, FROM)
    for (let i = 0; i < objs.length; i += 16) {
      await Promise.all(objs.slice(i, i + 16).map((o) => c.send(new CopyObjectCommand({Bucket: BUCKET, Key: COPY + o.key.slice(FROM.length), CopySource: `${BUCKET}/${o.key}`}))))
    }
  } finally {
    c.destroy()
  }
  const doc = parse(readFileSync(join(inject('labDir'), 'vaultctl.yaml'), 'utf8')) as {environments: Record<string, {postgres: {backup: Record<string, unknown>}}>}
  doc.environments.prunetest = structuredClone(doc.environments.lab!)
  doc.environments.prunetest.postgres.backup.prefix = 'prune-test/'
  configFile = join(mkdtempSync(join(tmpdir(), 'vaultctl-prune-')), 'vaultctl.yaml')
  writeFileSync(configFile, stringify(doc))
}, 420_000)

afterAll(async () => {
  await dropCopy()
  if (restoredDir) {
    const {spawnSync} = await import('node:child_process')
    const {lookupUser} = await import('../../src/lib/clients/process.js')
    const u = lookupUser('postgres')
    spawnSync('/usr/lib/postgresql/15/bin/pg_ctl', ['-D', restoredDir, '-m', 'immediate', 'stop'], {stdio: 'ignore', ...(process.getuid?.() === 0 && u ? {uid: u.uid, gid: u.gid} : {})})
    const {rmSync} = await import('node:fs')
    for (const p of [restoredDir, `${restoredDir}.log`, `${restoredDir}.wal-spool`]) rmSync(p, {recursive: true, force: true})
  }
})

describe('compressed backups and WAL', () => {
  it('stores each backup as its method says, smaller than the tar, and lists what the location holds', async () => {
    expect([m.zstd!.compression, m.lz4!.compression, m.none!.compression]).toEqual(['zstd', 'lz4', 'none'])
    expect(m.zstd!.key).toMatch(/\/base\.tar\.zst$/)
    expect(m.lz4!.key).toMatch(/\/base\.tar\.lz4$/)
    expect(m.none!.key).toMatch(/\/base\.tar$/)
    expect(m.zstd!.bytes).toBeLessThan(m.none!.bytes / 2)
    const l = (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()
    const tars = l.backups.reduce((n, b) => n + b.bytes, 0)
    // the tars plus their manifests (each well under 4 KiB)
    expect(l.storage.backupsBytes).toBeGreaterThan(tars)
    expect(l.storage.backupsBytes).toBeLessThan(tars + 4096 * l.backups.length)
    expect(l.storage.walFiles).toBe(l.walFiles)
    expect(l.versioning).toMatch(/versioned/)
  })

  it('archives WAL segments zstd-compressed, with the SHA-256 of the segment itself', async () => {
    const c = await s3()
    try {
      const wal = (await listObjects(c, BUCKET, `${FROM}wal/`)).filter((o) => /\/[0-9A-F]{24}$/.test(o.key))
      const newest = wal.sort((a, b) => a.key.localeCompare(b.key)).slice(-3)
      for (const o of newest) {
        const h = (await headObject(c, BUCKET, o.key))!
        expect(h.metadata.compression, o.key).toBe('zstd')
        expect(h.metadata.sha256).toMatch(/^[0-9a-f]{64}$/)
        expect(o.size).toBeLessThan(16 * 1024 * 1024 / 2)
      }
    } finally {
      c.destroy()
    }
  })
})

describe('backup prune (a copy of the archive, three timelines)', () => {
  const at = () => new Date(new Date(m.lz4!.finishedAt).getTime() + 7 * 86_400_000 + 1000)
  const walKeys = async () => {
    const c = await s3()
    try {
      return (await listObjects(c, BUCKET, `${COPY}wal/`)).map((o) => o.key.slice(`${COPY}wal/`.length))
    } finally {
      c.destroy()
    }
  }

  it('refuses --at later than now without --force, and --dry-run deletes nothing', async () => {
    const refused = await copyCli(['backup', 'prune', '--at', at().toISOString(), '--yes', '--json'])
    expect(refused.code).toBe(3)
    expect(refused.stdout + refused.stderr).toMatch(/--force/)
    const before = await walKeys()
    const dry = await copyCli(['backup', 'prune', '--at', at().toISOString(), '--dry-run', '--json'])
    expect(dry.code, dry.stderr).toBe(0)
    const plan = dry.json<BackupPruneResult>()
    expect(plan.decision.anchor).toBe(m.lz4!.id)
    expect(plan.decision.wal.delete.length).toBeGreaterThan(0)
    expect(await walKeys()).toEqual(before)
  })

  it('deletes only WAL before the anchor\'s start (and no kept backup\'s own), keeps every history file, and the window shows no gap', async () => {
    const before = await walKeys()
    const r = await copyCli(['backup', 'prune', '--at', at().toISOString(), '--force', '--delete-versions', '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const res = r.json<BackupPruneResult>()
    const after = new Set(await walKeys())
    const from = segnoOf(parseLsn(m.lz4!.startLsn))
    const gone = before.filter((k) => !after.has(k))
    expect(gone.length).toBe(res.decision.wal.delete.length)
    expect(gone.every((k) => parseSegmentName(k.slice(0, 24))!.segno < from)).toBe(true)
    expect(before.filter((k) => k.endsWith('.history')).every((k) => after.has(k))).toBe(true)
    // every kept backup still has the archived segments of its own start..end
    const list = (await copyCli(['backup', 'list', '--json'])).json<BackupListResult>()
    for (const b of list.backups) {
      for (let s = segnoOf(parseLsn(b.startLsn)); s <= segnoOf(parseLsn(b.endLsn) - 1); s++) {
        expect([...after].some((k) => parseSegmentName(k.slice(0, 24))?.segno === s), `${b.id} segment ${s}`).toBe(true)
      }
    }
    expect(list.backups.map((b) => b.id)).toEqual(expect.arrayContaining([m.zstd!.id, m.lz4!.id, m.none!.id]))
    expect(list.window.gaps).toEqual([])
    expect(list.retention?.walFrom).toBe(res.decision.walFrom)
    expect(list.window.backups.find((w) => w.backup === m.zstd!.id)?.prunedAt).toBeDefined()
    // --delete-versions: the pruned keys have no version left
    const c = await s3()
    try {
      const v = await listVersions(c, BUCKET, `${COPY}wal/${gone[0]}`)
      expect(v).toEqual([])
    } finally {
      c.destroy()
    }
    // a second run as of the same instant has nothing left to delete
    const again = (await copyCli(['backup', 'prune', '--at', at().toISOString(), '--force', '--yes', '--json'])).json<BackupPruneResult>()
    expect(again.decision.wal.delete).toEqual([])
  })

  it('restores from the pruned copy to an instant after the first switchover, from the lz4 backup, along the newest timeline', async () => {
    const target = new Date(t.b2!.getTime() + 5)
    const r = await copyCli(['restore', 'pitr', '--target-time', target.toISOString(), '--json'])
    const res = r.json<RestorePitrResult & {error?: {message: string}}>()
    if (res.dataDir) restoredDir = res.dataDir
    expect(r.code, `${r.stderr}\n${res.error?.message ?? ''}`).toBe(0)
    expect(res.backup).toBe(m.lz4!.id)
    const rows = await withPg({...pgConn('pg-1'), port: res.port!}, async (c) => (await c.query<{batch: number; n: string}>('select batch, count(*) as n from pr_t group by 1 order by 1')).rows)
    expect(rows.map((x) => `${x.batch}x${x.n}`)).toEqual(['1x1', '2x2'])
  })
})
