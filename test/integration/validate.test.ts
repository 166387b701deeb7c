// `vaultctl backup validate` and WAL gaps, against the lab's real cluster and S3 archive.
import {existsSync, readdirSync} from 'node:fs'
import {beforeAll, describe, expect, it} from 'vitest'
import type {BackupListResult} from '../../src/commands/backup/list.js'
import type {BackupValidateResult} from '../../src/commands/backup/validate.js'
import {getCluster} from '../../src/lib/clients/patroni.js'
import {withPg} from '../../src/lib/clients/postgres.js'
import {deleteObject, getObjectBytes, putObject, s3Client} from '../../src/lib/clients/s3.js'
import {backupKey, parseLsn, segmentName, segnoOf, walKey, type BackupLocation} from '../../src/lib/backup/layout.js'
import {eventually, labCli, labPorts, labSecret, patroniApi, pgConn, sleep, status} from '../helpers/lab.js'

const loc: BackupLocation = {bucket: 'vault-backups', prefix: 'postgres/', cluster: 'vault-lab'}
const s3 = () => s3Client({endpoint: `http://127.0.0.1:${labPorts().s3}`, region: 'us-east-1', forcePathStyle: true, accessKeyId: labSecret('s3-access-key'), secretAccessKey: labSecret('s3-secret-key')})
const onLeader = async (sql: string) => {
  const c = await getCluster(patroniApi('pg-1'))
  return withPg(pgConn(c.members.find((m) => m.role === 'leader' || m.role === 'master')!.name), (x) => x.query(sql))
}
const list = async () => (await labCli(['backup', 'list', '--json'])).json<BackupListResult>()
const validate = async (args: string[] = []) => {
  const r = await labCli(['backup', 'validate', '--json', ...args])
  return {code: r.code, res: r.json<BackupValidateResult>()}
}
let backupId = ''
const validateDirs = () => (existsSync('/var/lib/postgresql/vaultctl-restores') ? readdirSync('/var/lib/postgresql/vaultctl-restores').filter((d) => d.startsWith('validate-')) : [])

beforeAll(async () => {
  await eventually('healthy', 90_000, async () => (await status(['--component', 'postgres'])).code === 0)
  const b = await labCli(['backup', 'create', '--json'])
  expect(b.code).toBe(0)
  backupId = b.json<{manifest: {id: string}}>().manifest.id
  let last = ''
  for (let i = 0; i < 3; i++) {
    await onLeader(i === 0 ? 'drop table if exists validate_t; create table validate_t(x int); insert into validate_t values (0)' : `insert into validate_t values (${i})`)
    last = (await onLeader('select pg_walfile_name(pg_current_wal_lsn()) as w')).rows[0].w as string
    await onLeader('select pg_switch_wal()')
  }
  // Wait until the segment holding the last insert is archived and the window reaches it.
  await eventually(`${last} archived`, 60_000, async () => {
    const w = (await list()).window.backups.find((x) => x.backup === backupId)
    return Boolean(w && !w.gapAt && w.lastSegment >= last)
  })
}, 180_000)

describe('backup validate', () => {
  it('passes on a good backup: restore, continuity, age, archiving, amcheck, SQL; and tears down', async () => {
    const {code, res} = await validate(['--check-sql', 'select count(*) = 3 from validate_t'])
    expect(code).toBe(0)
    expect(res.ok).toBe(true)
    expect(res.checks.map((c) => c.id)).toEqual(['wal-continuity', 'backup-age', 'wal-rpo', 'amcheck', 'sql-1'])
    expect(res.checks.every((c) => c.ok)).toBe(true)
    expect(validateDirs()).toEqual([])
  })

  it('a failing SQL check fails the run (exit 1)', async () => {
    const {code, res} = await validate(['--check-sql', 'select count(*) = 99 from validate_t'])
    expect(code).toBe(1)
    expect(res.checks.find((c) => c.id === 'sql-1')?.ok).toBe(false)
  })

  it('fails on a missing WAL segment, and PITR refuses a target behind the gap', async () => {
    const w = (await list()).window.backups.find((x) => x.backup === backupId)!
    const missing = segmentName(w.timeline, segnoOf(parseLsn(w.fromLsn)) + 1)
    const client = await s3()
    const saved = (await getObjectBytes(client, loc.bucket, walKey(loc, missing)))!
    await deleteObject(client, loc.bucket, walKey(loc, missing))
    try {
      const {code, res} = await validate()
      expect(code).toBe(1)
      expect(res.checks.find((c) => c.id === 'wal-continuity')).toMatchObject({ok: false, detail: expect.stringContaining(`WAL gap at ${missing}`)})
      expect(validateDirs()).toEqual([])
      const behind = await labCli(['restore', 'pitr', '--target-time', new Date(Date.now() - 1000).toISOString()])
      expect(behind.code).toBe(3)
      expect(behind.stderr).toMatch(/not restorable: restorable window is .*WAL gap at/)
    } finally {
      await putObject(client, loc.bucket, walKey(loc, missing), saved.body, saved.metadata)
      client.destroy()
    }
    expect((await list()).window.gaps).toEqual([])
  })

  it('fails on a truncated base backup object, and removes its ephemeral instance', async () => {
    expect((await labCli(['backup', 'create'])).code).toBe(0)
    const newest = (await list()).backups.at(-1)!
    const client = await s3()
    try {
      const tar = (await getObjectBytes(client, loc.bucket, newest.key))!
      await putObject(client, loc.bucket, newest.key, tar.body.slice(0, 1024 * 1024))
      const {code, res} = await validate()
      expect(code).toBe(1)
      expect(res.backup).toBe(newest.id)
      expect(res.error).toMatch(/fetch-base-backup|base backup|tar|sha256/i)
      expect(validateDirs()).toEqual([])
    } finally {
      // drop the damaged backup so later runs validate a good one
      await deleteObject(client, loc.bucket, backupKey(loc, newest.id, 'manifest.json'))
      await deleteObject(client, loc.bucket, newest.key) // and its tar: no incomplete backup left for other tests
      client.destroy()
    }
  })

  it('a target inside a WAL gap is refused with the window even with a later backup; a target after that backup is restorable from it', async () => {
    const w0 = (await list()).window.backups.find((x) => x.backup === backupId)!
    const missing = segmentName(w0.timeline, segnoOf(parseLsn(w0.fromLsn)) + 1)
    const inGap = new Date() // after the segments that follow the first backup, before the next one
    await sleep(1100)
    const b = await labCli(['backup', 'create', '--json'])
    expect(b.code, b.stderr).toBe(0)
    const later = b.json<{manifest: {id: string; finishedAt: string}}>().manifest
    await sleep(1100)
    const afterLater = new Date()
    await sleep(1100)
    await onLeader('insert into validate_t values (100)')
    const last = (await onLeader('select pg_walfile_name(pg_current_wal_lsn()) as w')).rows[0].w as string
    await onLeader('select pg_switch_wal()')
    await eventually(`${last} archived`, 60_000, async () => Boolean((await list()).window.backups.find((x) => x.backup === later.id && x.lastSegment >= last)))
    const client = await s3()
    const saved = (await getObjectBytes(client, loc.bucket, walKey(loc, missing)))!
    await deleteObject(client, loc.bucket, walKey(loc, missing))
    try {
      const w = (await list()).window
      expect(w.gaps).toContain(missing)
      const inside = await labCli(['restore', 'pitr', '--target-time', inGap.toISOString(), '--dry-run', '--json'])
      expect(inside.code).toBe(3)
      const err = inside.json<{error: {code: string; message: string}}>().error
      expect(err.code).toBe('TARGET_OUTSIDE_WINDOW')
      expect(err.message).toContain(`WAL gap at ${missing}`)
      expect(err.message).toContain(later.finishedAt) // the later backup's range is named in the window
      const after = await labCli(['restore', 'pitr', '--target-time', afterLater.toISOString(), '--dry-run', '--json'])
      expect(after.code, after.stderr).toBe(0)
      expect(after.json<{plan: {observed: {backup: string}}}>().plan.observed.backup).toBe(later.id)
    } finally {
      await putObject(client, loc.bucket, walKey(loc, missing), saved.body, saved.metadata)
      client.destroy()
    }
  })
})
