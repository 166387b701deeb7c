// `restore s3` and `s3 history` against the lab's moto AND MinIO: every key's content, metadata and
// tags after a restore are compared with the test's own record of what it wrote (an independent
// model of the state at T), including the listing-page cases s3-pit-restore gets wrong.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, GetObjectLegalHoldCommand, GetObjectTaggingCommand, PutBucketLifecycleConfigurationCommand, PutBucketVersioningCommand,
  PutObjectCommand, PutObjectLegalHoldCommand, PutObjectLockConfigurationCommand, type S3Client,
} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import type {RestoreS3JobResult, RestoreS3Result} from '../../src/commands/restore/s3.js'
import {runOperation} from '../../src/lib/clients/operations.js'
import {parseConfig} from '../../src/lib/config/parse.js'
import type {Operation} from '../../src/lib/plan/operations.js'
import {k8sSchemaFile, k8sValidator} from '../../src/lib/provision/k8s-schema.js'
import {vaultctl} from '../helpers/cli.js'
import type {S3HistoryResult} from '../../src/commands/s3/history.js'
import {s3Client} from '../../src/lib/clients/s3.js'
import {listVersions} from '../../src/lib/clients/s3-versions.js'
import {BIN} from '../helpers/cli.js'
import {labCli, labEnv, labPorts, labSecret, sleep} from '../helpers/lab.js'

type Content = {body: string; meta?: Record<string, string>; tags?: string; type?: string}
const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex')
const BIG = 'x'.repeat(7 * 1024 * 1024 - 3)

describe.each([
  ['minio', () => inject('labDir')],
  ['moto', () => inject('motoLabDir')],
])('restore s3 on %s', (server, dirOf) => {
  let dir = ''
  let c: S3Client
  const B = 'vault-data'
  const P = `rs3-${server}-${Date.now().toString(36)}/`
  /** the test's own record: key -> what it is after each write, with the time the write returned */
  const log: {key: string; at: number; content: Content | null}[] = []
  let T = new Date()
  const cli = (args: string[]) => labCli([...args, '--json'], dir)

  const put = async (key: string, content: Content, bucket = B) => {
    await c.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: content.body, Metadata: content.meta, ContentType: content.type, Tagging: content.tags}))
    if (bucket === B) log.push({key, at: Date.now(), content})
  }
  const del = async (key: string) => {
    await c.send(new DeleteObjectCommand({Bucket: B, Key: key}))
    log.push({key, at: Date.now(), content: null})
  }
  /** The state at t per the test's own record (writes separated from t by > 1 s). */
  const modelAt = (t: Date, prefix = P) => {
    const m = new Map<string, Content | null>()
    for (const e of log) if (e.key.startsWith(prefix) && e.at <= t.getTime()) m.set(e.key, e.content)
    for (const e of log) if (e.key.startsWith(prefix) && !m.has(e.key)) m.set(e.key, null)
    return m
  }
  const read = async (key: string, bucket = B): Promise<Content | null> => {
    try {
      const r = await c.send(new GetObjectCommand({Bucket: bucket, Key: key}))
      const body = await r.Body!.transformToString()
      const tags = (await c.send(new GetObjectTaggingCommand({Bucket: bucket, Key: key}))).TagSet ?? []
      return {body, meta: r.Metadata ?? {}, tags: tags.map((x) => `${x.Key}=${x.Value}`).sort().join('&'), type: r.ContentType}
    } catch (error) {
      if ((error as {name?: string}).name === 'NoSuchKey' || (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode === 404) return null
      throw error
    }
  }
  /** Every key of the model, as stored now under `toPrefix`, equals the model at t. */
  const expectStateAt = async (t: Date, toPrefix = P, bucket = B) => {
    const wrong: string[] = []
    for (const [key, want] of modelAt(t)) {
      const got = await read(toPrefix + key.slice(P.length), bucket)
      const ok = want === null ? got === null
        : got !== null && sha(got.body) === sha(want.body) && (want.meta === undefined || JSON.stringify(got.meta) === JSON.stringify(want.meta))
          && (want.tags === undefined || got.tags === want.tags.split('&').sort().join('&')) && (want.type === undefined || got.type === want.type)
      if (!ok) wrong.push(`${key}: want ${want === null ? 'absent' : sha(want.body).slice(0, 8)}, got ${got === null ? 'absent' : sha(got.body).slice(0, 8)}`)
    }
    expect(wrong).toEqual([])
  }
  const versionsOf = async (prefix: string) => (await listVersions(c, B, prefix)).map((v) => `${v.key}@${v.versionId}`).sort()

  beforeAll(async () => {
    dir = dirOf() ?? ''
    if (!dir) return
    c = await s3Client({endpoint: `http://127.0.0.1:${labPorts(dir).s3}`, region: 'us-east-1', forcePathStyle: true,
      accessKeyId: labSecret('s3-access-key', dir), secretAccessKey: labSecret('s3-secret-key', dir)})
    // Before T
    await put(`${P}over`, {body: 'over-1', meta: {v: '1'}, type: 'text/plain', tags: 'stage=raw&v=1'})
    await put(`${P}gone`, {body: 'gone-1'})
    await put(`${P}dead`, {body: 'dead-1'})
    await sleep(1100) // moto lists whole seconds, and versions before delete markers: a put and a delete in one second cannot be ordered there
    await del(`${P}dead`)
    await put(`${P}same`, {body: 'same-1'})
    await put(`${P}sp ace+%ü`, {body: 'special-1'})
    await put(`${P}big`, {body: BIG + '1'})
    for (let i = 0; i < 1001; i++) await put(`${P}many`, {body: `many-${i}`}) // its history spans two listing pages
    // s3-pit-restore case 1: deleted before T, 999 versions after: its delete marker ends a page
    await put(`${P}m-deleted`, {body: 'md-old'})
    await sleep(1100)
    await del(`${P}m-deleted`)
    // s3-pit-restore case 2: a page of 1,000 keys with only a delete marker, then a live key
    for (let i = 0; i < 1000; i++) await del(`${P}n-marker-${String(i).padStart(4, '0')}`)
    await put(`${P}n-zlive`, {body: 'live-1'})
    await sleep(1200)
    T = new Date()
    await sleep(1200)
    // After T
    await put(`${P}over`, {body: 'over-2', meta: {v: '2'}, type: 'application/json', tags: 'stage=cooked'})
    await del(`${P}gone`)
    await put(`${P}dead`, {body: 'dead-2'})
    await put(`${P}born`, {body: 'born-2'})
    await put(`${P}sp ace+%ü`, {body: 'special-2'})
    await put(`${P}big`, {body: BIG + '2'})
    await put(`${P}many`, {body: 'many-after'})
    for (let i = 0; i < 999; i++) await put(`${P}m-deleted`, {body: `md-${i}`})
    await put(`${P}n-zlive`, {body: 'live-2'})
  }, 600_000)

  afterAll(() => c?.destroy())

  it('s3 history lists every version and delete marker; --at shows the state at T', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const all = (await cli(['s3', 'history', '--key', `${P}dead`])).json<S3HistoryResult>()
    expect(all.versions.map((v) => [v.deleteMarker, v.current])).toEqual([[false, true], [true, false], [false, false]])
    const at = (await cli(['s3', 'history', '--prefix', P, '--at', T.toISOString()])).json<S3HistoryResult>()
    expect(at.versions.find((v) => v.key === `${P}many`)).toMatchObject({deleteMarker: false})
    expect(at.versions.find((v) => v.key === `${P}m-deleted`)).toMatchObject({deleteMarker: true})
    expect(at.versions.some((v) => v.key === `${P}born`)).toBe(false)
  })

  it('--dry-run plans every key right (page-boundary cases included) and changes nothing', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const before = await versionsOf(P)
    const r = await cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--dry-run', '--multipart-threshold', '6MiB', '--part-size', '5MiB'])
    expect(r.code, r.stderr).toBe(0)
    const res = r.json<RestoreS3Result>()
    const action = (k: string) => res.actions.find((a) => a.key === `${P}${k}`)?.kind
    expect([action('over'), action('gone'), action('dead'), action('born'), action('same'), action('many'), action('m-deleted'), action('n-zlive')])
      .toEqual(['copy', 'copy', 'delete', 'delete', 'unchanged', 'copy', 'delete', 'copy'])
    // moto keeps a delete marker for a key that never existed; MinIO creates none (no history at all)
    expect(action('n-marker-0999') ?? 'unchanged').toBe('unchanged')
    expect(res.counts).toMatchObject({copy: 6, delete: 3})
    expect(res.plan.steps[0]!.manual).toContain(`--copy-source 'vault-data/${P}sp%20ace%2B%25%C3%BC?versionId=`)
    expect(await versionsOf(P)).toEqual(before)
  })

  it('restores the prefix to exactly its state at T; a re-run changes nothing', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const r = await cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--yes', '--multipart-threshold', '6MiB', '--part-size', '5MiB'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json<RestoreS3Result>().outcome).toMatchObject({copied: 6, deleted: 3, failed: []})
    await expectStateAt(T)
    const again = (await cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--yes', '--multipart-threshold', '6MiB', '--part-size', '5MiB'])).json<RestoreS3Result>()
    expect(again.counts).toMatchObject({copy: 0, delete: 0})
  })

  it('--undelete brings back only keys deleted after T; --version-id makes one version current', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const U = `${P.slice(0, -1)}-u/`
    await put(`${U}del`, {body: 'u-1'})
    await put(`${U}over`, {body: 'o-1'})
    await sleep(1200)
    const t = new Date()
    await sleep(1200)
    await del(`${U}del`)
    await put(`${U}over`, {body: 'o-2'})
    const r = await cli(['restore', 's3', '--prefix', U, '--to', t.toISOString(), '--undelete', '--yes'])
    expect(r.code, r.stderr).toBe(0)
    expect((await read(`${U}del`))?.body).toBe('u-1')
    expect((await read(`${U}over`))?.body).toBe('o-2')
    const v1 = (await listVersions(c, B, `${U}over`)).find((v) => !v.isLatest)!.versionId
    const one = await cli(['restore', 's3', '--key', `${U}over`, '--version-id', v1, '--yes'])
    expect(one.code, one.stderr).toBe(0)
    expect((await read(`${U}over`))?.body).toBe('o-1')
  })

  it('--to-prefix writes the state at T elsewhere, the source only read; shards together give the same', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const before = await versionsOf(P)
    const X = `${P.slice(0, -1)}-copy/`
    const r = await cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--to-prefix', X, '--multipart-threshold', '6MiB', '--part-size', '5MiB'])
    expect(r.code, r.stderr).toBe(0)
    expect(await versionsOf(P)).toEqual(before)
    await expectStateAt(T, X)
    const S = `${P.slice(0, -1)}-shards/`
    const shards = await Promise.all([0, 1, 2].map((i) => cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--to-prefix', S, '--shard', `${i}/3`, '--multipart-threshold', '6MiB', '--part-size', '5MiB'])))
    expect(shards.map((s) => s.code)).toEqual([0, 0, 0])
    expect(shards.reduce((n, s) => n + s.json<RestoreS3Result>().actions.length, 0)).toBe(r.json<RestoreS3Result>().actions.length)
    await expectStateAt(T, S)
  })

  it('kill -9 in the middle, then a re-run converges, with at most one new version per key', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const K = `${P.slice(0, -1)}-kill/`
    for (let i = 0; i < 300; i++) await put(`${K}k${i}`, {body: `k-${i}-1`})
    await sleep(1200)
    const t = new Date()
    await sleep(1200)
    for (let i = 0; i < 300; i++) await put(`${K}k${i}`, {body: `k-${i}-2`})
    const child = spawn(process.execPath, [BIN, 'restore', 's3', '--prefix', K, '--to', t.toISOString(), '--yes', '--concurrency', '2'],
      {env: {...process.env, ...labEnv(dir), NO_COLOR: '1'} as NodeJS.ProcessEnv, stdio: ['ignore', 'ignore', 'pipe']})
    let err = ''
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
      if (/\d+\/300 keys/.test(err)) child.kill('SIGKILL')
    })
    await new Promise((res) => child.on('exit', res))
    const again = await cli(['restore', 's3', '--prefix', K, '--to', t.toISOString(), '--yes'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.json<RestoreS3Result>().counts.unchanged).toBeGreaterThan(0) // the killed run did some
    const versions = await listVersions(c, B, K)
    const perKey = new Map<string, number>()
    for (const v of versions) perKey.set(v.key, (perKey.get(v.key) ?? 0) + 1)
    expect(Math.max(...perKey.values())).toBe(3)
    for (let i = 0; i < 300; i += 37) expect((await read(`${K}k${i}`))?.body).toBe(`k-${i}-1`)
  })

  it('a null version from before versioning was enabled is restored like any other', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const nb = `rs3-null-${server}-${Date.now().toString(36)}`
    await c.send(new CreateBucketCommand({Bucket: nb}))
    await put('k', {body: 'before-versioning'}, nb)
    await c.send(new PutBucketVersioningCommand({Bucket: nb, VersioningConfiguration: {Status: 'Enabled'}}))
    await sleep(1200)
    const t = new Date()
    await sleep(1200)
    await put('k', {body: 'after'}, nb)
    const dry = (await cli(['restore', 's3', '--bucket', nb, '--to', t.toISOString(), '--dry-run'])).json<RestoreS3Result>()
    expect(dry.actions).toEqual([{kind: 'copy', key: 'k', toKey: 'k', versionId: 'null', size: 17}])
    expect((await cli(['restore', 's3', '--bucket', nb, '--to', t.toISOString(), '--yes'])).code).toBe(0)
    expect((await read('k', nb))?.body).toBe('before-versioning')
  })

  it('refuses an unversioned bucket and a time older than the lifecycle rules guarantee (exit 3); --force overrides the window', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const plain = `rs3-plain-${server}-${Date.now().toString(36)}`
    await c.send(new CreateBucketCommand({Bucket: plain}))
    await put('a', {body: 'a'}, plain)
    const r = await cli(['restore', 's3', '--bucket', plain, '--to', new Date().toISOString()])
    expect(r.code).toBe(3)
    expect(r.stdout).toContain('S3_NOT_VERSIONED')
    const lc = `rs3-lc-${server}-${Date.now().toString(36)}`
    await c.send(new CreateBucketCommand({Bucket: lc}))
    await c.send(new PutBucketVersioningCommand({Bucket: lc, VersioningConfiguration: {Status: 'Enabled'}}))
    await c.send(new PutBucketLifecycleConfigurationCommand({Bucket: lc, LifecycleConfiguration: {Rules: [{ID: 'noncurrent-1d', Status: 'Enabled', Filter: {Prefix: ''},
      NoncurrentVersionExpiration: {NoncurrentDays: 1}}]}}))
    const old = new Date(Date.now() - 2 * 86_400_000).toISOString()
    const refused = await cli(['restore', 's3', '--bucket', lc, '--to', old, '--dry-run'])
    expect(refused.code).toBe(3)
    expect(refused.stdout).toMatch(/S3_OUTSIDE_WINDOW.*noncurrent-1d: NoncurrentVersionExpiration 1 days/s)
    expect((await cli(['restore', 's3', '--bucket', lc, '--to', old, '--dry-run', '--force'])).code).toBe(0)
    const bad = await cli(['restore', 's3', '--bucket', lc, '--to', 'yesterday'])
    expect(bad.code).toBe(2)
  })

  it('--from-bucket reads the history from a replica: the state at T written into a recreated, empty bucket', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const id = `${server}-${Date.now().toString(36)}`
    const [replica, recreated] = [`rs3-replica-${id}`, `rs3-recreated-${id}`]
    for (const b of [replica, recreated]) {
      await c.send(new CreateBucketCommand({Bucket: b}))
      await c.send(new PutBucketVersioningCommand({Bucket: b, VersioningConfiguration: {Status: 'Enabled'}}))
    }
    await put('d/a', {body: 'a-1', meta: {m: '1'}}, replica)
    await put('d/b', {body: 'b-1'}, replica)
    await sleep(1200)
    const t = new Date()
    await sleep(1200)
    await put('d/a', {body: 'a-2'}, replica)
    await put('d/c', {body: 'c-2'}, replica)
    const r = await cli(['restore', 's3', '--bucket', recreated, '--from-bucket', replica, '--prefix', 'd/', '--to', t.toISOString(), '--yes'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.json<RestoreS3Result>()).toMatchObject({bucket: replica, toBucket: recreated, counts: {copy: 2, delete: 0}})
    expect([(await read('d/a', recreated))?.body, (await read('d/a', recreated))?.meta, (await read('d/b', recreated))?.body, await read('d/c', recreated)]).toEqual(['a-1', {m: '1'}, 'b-1', null])
    expect((await read('d/a', replica))?.body).toBe('a-2') // the replica is only read
  })

  it('a key with // in its name, where the server accepts one (moto; MinIO refuses it)', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    if (server === 'minio') return ctx.skip('MinIO refuses object names with // (XMinioInvalidObjectName)')
    const K = `${P.slice(0, -1)}-slash/a//b`
    await put(K, {body: 'slash-1'})
    await sleep(1200)
    const t = new Date()
    await sleep(1200)
    await put(K, {body: 'slash-2'})
    const r = await cli(['restore', 's3', '--prefix', `${P.slice(0, -1)}-slash/`, '--to', t.toISOString(), '--yes'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect((await read(K))?.body).toBe('slash-1')
  })

  it('Object Lock: held versions keep their hold when copied into a locked bucket; refused into one without, over held current versions, and into default COMPLIANCE retention', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const id = `${server}-${Date.now().toString(36)}`
    const locked = async (b: string) => c.send(new CreateBucketCommand({Bucket: b, ObjectLockEnabledForBucket: true}))
    const [src, plain, safe, compliance] = [`rs3-lock-${id}`, `rs3-nolock-${id}`, `rs3-lock2-${id}`, `rs3-cmpl-${id}`]
    await locked(src)
    await locked(safe)
    await locked(compliance)
    await c.send(new PutObjectLockConfigurationCommand({Bucket: compliance, ObjectLockConfiguration: {ObjectLockEnabled: 'Enabled', Rule: {DefaultRetention: {Mode: 'COMPLIANCE', Days: 1}}}}))
    await c.send(new CreateBucketCommand({Bucket: plain}))
    await c.send(new PutBucketVersioningCommand({Bucket: plain, VersioningConfiguration: {Status: 'Enabled'}}))
    const md5 = (body: string) => createHash('md5').update(body).digest('base64')
    await c.send(new PutObjectCommand({Bucket: src, Key: 'held', Body: 'held-1', ContentMD5: md5('held-1')}))
    const v1 = (await listVersions(c, src, 'held'))[0]!.versionId
    await c.send(new PutObjectLegalHoldCommand({Bucket: src, Key: 'held', VersionId: v1, LegalHold: {Status: 'ON'}}))
    await sleep(1200)
    const t = new Date()
    await sleep(1200)
    await c.send(new PutObjectCommand({Bucket: src, Key: 'held', Body: 'held-2', ContentMD5: md5('held-2')}))
    const to = (b: string, more: string[] = []) => cli(['restore', 's3', '--bucket', src, '--to', t.toISOString(), '--to-bucket', b, '--yes', ...more])

    const lost = await to(plain)
    expect(lost.code, lost.stderr).toBe(3)
    expect(lost.stdout).toMatch(/S3_OBJECT_LOCK.*under legal hold or retention.*has no Object Lock.*--accept-object-lock/s)
    const cmpl = await to(compliance)
    expect(cmpl.code).toBe(3)
    expect(cmpl.stdout).toMatch(/S3_OBJECT_LOCK.*COMPLIANCE mode for 1 day/s)

    const kept = await to(safe)
    expect(kept.code, kept.stdout + kept.stderr).toBe(0)
    expect(kept.json<RestoreS3Result>().actions).toEqual([{kind: 'copy', key: 'held', toKey: 'held', versionId: v1, size: 6, lock: {legalHold: true}}])
    const copy = (await listVersions(c, safe, 'held')).find((v) => v.isLatest)!
    expect((await c.send(new GetObjectLegalHoldCommand({Bucket: safe, Key: 'held', VersionId: copy.versionId}))).LegalHold?.Status).toBe('ON')

    // in place: the current version is held too, so the restore would supersede it
    const v2 = (await listVersions(c, src, 'held')).find((v) => v.isLatest)!.versionId
    await c.send(new PutObjectLegalHoldCommand({Bucket: src, Key: 'held', VersionId: v2, LegalHold: {Status: 'ON'}}))
    const inPlace = await cli(['restore', 's3', '--bucket', src, '--to', t.toISOString(), '--yes'])
    expect(inPlace.code).toBe(3)
    expect(inPlace.stdout).toMatch(/S3_OBJECT_LOCK.*1 key\(s\) to change have a current version under legal hold/s)
    const forced = await cli(['restore', 's3', '--bucket', src, '--to', t.toISOString(), '--yes', '--accept-object-lock'])
    expect(forced.code, forced.stderr).toBe(0)
    expect((await read('held', src))?.body).toBe('held-1')
  })

  it('--engine s3-batch: refused where there is no S3 Control API; its manifest holds exactly the copies (bucket, URL-encoded key, version)', async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const batch = ['--engine', 's3-batch', '--account-id', '123456789012', '--batch-role', 'arn:aws:iam::123456789012:role/vault-s3-batch']
    const X = `${P.slice(0, -1)}-batch/`
    const refused = await cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--to-bucket', 'vault-backups', ...batch, '--dry-run'])
    expect(refused.code).toBe(3)
    expect(refused.stdout).toContain('S3_BATCH_UNAVAILABLE')
    expect((await cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--to-prefix', X, ...batch, '--s3-control-endpoint', 'https://s3-control.example', '--dry-run'])).code).toBe(2)
    const dry = await cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--to-bucket', 'vault-backups', ...batch, '--s3-control-endpoint', 'https://s3-control.example', '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    const plan = dry.json<RestoreS3Result>().plan
    expect(plan.steps.map((x) => x.op?.kind)).toEqual(['s3.put-batch-manifest', 's3.batch-copy'])
    const manifestOp = plan.steps[0]!.op as Extract<Operation, {kind: 's3.put-batch-manifest'}>
    const jobOp = plan.steps[1]!.op as Extract<Operation, {kind: 's3.batch-copy'}>
    expect(plan.steps[1]!.manual).toMatch(/s3control create-job --account-id 123456789012 .*"S3PutObjectCopy":\{"TargetResource":"arn:aws:s3:::vault-backups","MetadataDirective":"COPY"\}/s)
    // The manifest, written to the lab's S3 by the step's own executor, read back
    const s3 = {accessKeyId: labSecret('s3-access-key', dir), secretAccessKey: labSecret('s3-secret-key', dir)}
    await runOperation(manifestOp, {signal: new AbortController().signal, note: () => undefined, state: {}, secrets: {s3}})
    const got = await (await c.send(new GetObjectCommand({Bucket: manifestOp.bucket, Key: manifestOp.key}))).Body!.transformToString()
    expect(jobOp.job.manifest).toEqual({bucket: manifestOp.bucket, key: manifestOp.key})
    // independently: each key present at T (per the test's record) with the version current at T
    const wanted: string[] = []
    for (const [key, content] of modelAt(T)) {
      if (content === null) continue
      const v = (await listVersions(c, B, key)).filter((x) => x.key === key && !x.deleteMarker && new Date(x.lastModified) <= T)
      wanted.push(`${B},${encodeURIComponent(key)},${v.sort((a, b) => b.lastModified.localeCompare(a.lastModified))[0]!.versionId}`)
    }
    expect(got.trim().split('\n').sort()).toEqual(wanted.sort())
  })

  it("--engine k8s-job renders a ConfigMap and an Indexed Job valid against the Kubernetes schema; its pods' commands, run here, give the single-process result", async (ctx) => {
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const validator = await k8sValidator()
    if (!validator) return ctx.skip(`no Kubernetes API schema at ${k8sSchemaFile()}: vaultctl lab install --tools k8s-schema`)
    const X = `${P.slice(0, -1)}-job/`
    const r = await cli(['restore', 's3', '--prefix', P, '--to', T.toISOString(), '--to-prefix', X, '--engine', 'k8s-job', '--shards', '3', '--credentials-secret', 'vault-s3-keys',
      '--multipart-threshold', '6MiB', '--part-size', '5MiB'])
    expect(r.code, r.stderr).toBe(0)
    const job = r.json<RestoreS3JobResult>()
    expect(job.objects.map((o) => validator.validate(o)).map((v) => [v.kind, v.status, v.problems])).toEqual([['ConfigMap', 'valid', []], ['Job', 'valid', []]])
    const spec = (job.objects[1] as {spec: {completionMode: string; completions: number; template: {spec: {containers: {args: string[]}[]}}}}).spec
    expect([spec.completionMode, spec.completions]).toEqual(['Indexed', 3])
    const config = (job.objects[0] as {data: Record<string, string>}).data['vaultctl.yaml']!
    parseConfig(config, 'the ConfigMap')
    // Each pod, as Kubernetes would start it: its args with $(JOB_COMPLETION_INDEX) expanded, its config, its credentials
    const cfgDir = mkdtempSync(join(tmpdir(), 'vaultctl-job-'))
    writeFileSync(join(cfgDir, 'vaultctl.yaml'), config)
    const env = {VAULTCTL_CONFIG: join(cfgDir, 'vaultctl.yaml'), VAULTCTL_LAB_DIR: undefined, VAULTCTL_ENV: undefined, AWS_ACCESS_KEY_ID: labSecret('s3-access-key', dir), AWS_SECRET_ACCESS_KEY: labSecret('s3-secret-key', dir),
      HOME: cfgDir, XDG_STATE_HOME: cfgDir}
    const pods = await Promise.all([0, 1, 2].map((i) => vaultctl(spec.template.spec.containers[0]!.args.map((a) => a.replace('$(JOB_COMPLETION_INDEX)', String(i))), {env})))
    expect(pods.map((p) => [p.code, p.stderr.slice(-300)])).toEqual([[0, ''], [0, ''], [0, '']])
    await expectStateAt(T, X)
  })
})
