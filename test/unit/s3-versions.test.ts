// The state of versioned keys at a time and each key's restore action: pure, on constructed
// histories (the listing shapes s3-pit-restore gets wrong included).
import {describe, expect, it} from 'vitest'
import {listingOrder} from '../../src/lib/clients/s3-versions.js'
import {planS3Restore, type S3RestoreOptions, type S3RestoreState} from '../../src/lib/s3/restore.js'
import {createJobInput, csvFields, manifestCsv, readReport} from '../../src/lib/s3/batch.js'
import {renderRestoreJob, shardArgs} from '../../src/lib/s3/k8s-job.js'
import {parseConfig} from '../../src/lib/config/parse.js'
import type {Operation} from '../../src/lib/plan/operations.js'
import {copySourceOf, groupByKey, guaranteedSince, keyAction, shardOf, stateAt, type VersionEntry} from '../../src/lib/s3/versions.js'

const at = (s: number) => new Date(Date.UTC(2026, 10, 27, 12, 0, s)).toISOString()
const v = (key: string, id: string, s: number, o: Partial<VersionEntry> = {}): VersionEntry => ({key, versionId: id, deleteMarker: false, isLatest: false, lastModified: at(s), size: 1, etag: `"${id}"`, ...o})
const m = (key: string, id: string, s: number, o: Partial<VersionEntry> = {}): VersionEntry => ({key, versionId: id, deleteMarker: true, isLatest: false, lastModified: at(s), ...o})
const T = new Date(at(30))

describe('state at a time', () => {
  it('takes the newest entry at or before T; a time tie is ordered by the listing (S3 interleaves versions and markers)', () => {
    // versions and markers come as two arrays; their positions in the raw listing order them
    const [h] = groupByKey([v('k', 'v1', 10, {seq: 2}), v('k', 'v3', 40, {isLatest: true, seq: 0}), m('k', 'd2', 10, {seq: 1})])
    expect(h!.entries.map((e) => e.versionId)).toEqual(['v3', 'd2', 'v1'])
    expect(stateAt(h!, T)?.versionId).toBe('d2')
    expect(stateAt(h!, new Date(at(5)))).toBeUndefined()
  })
  it('a key deleted before T with 999 versions after T: the marker decides, whichever page it ended', () => {
    const entries = [v('k', 'old', 1, {seq: 1001}), m('k', 'del', 2, {seq: 1000}), ...Array.from({length: 999}, (_, i) => v('k', `n${i}`, 100 + i, {seq: 999 - i, isLatest: i === 998}))]
    const [h] = groupByKey(entries)
    expect(stateAt(h!, T)?.versionId).toBe('del')
    expect(keyAction(h!, {kind: 'to', t: T}, h!.entries[0], 'k')).toEqual({kind: 'delete', key: 'k', toKey: 'k'})
  })
})

describe('key actions', () => {
  const hist = (...e: VersionEntry[]) => groupByKey(e)[0]!
  it('copies the wanted version, deletes what did not exist, leaves equal content alone (a re-run adds nothing)', () => {
    const over = hist(v('a', 'a1', 10), v('a', 'a2', 40, {isLatest: true}))
    expect(keyAction(over, {kind: 'to', t: T}, over.entries[0], 'a')).toEqual({kind: 'copy', key: 'a', toKey: 'a', versionId: 'a1', size: 1})
    const restored = v('a', 'a3', 50, {isLatest: true, etag: '"a1"'})
    expect(keyAction(over, {kind: 'to', t: T}, restored, 'a').kind).toBe('unchanged')
    const born = hist(v('b', 'b1', 40, {isLatest: true}))
    expect(keyAction(born, {kind: 'to', t: T}, born.entries[0], 'b').kind).toBe('delete')
    const markerOnly = hist(m('c', 'c0', 10, {isLatest: true}))
    expect(keyAction(markerOnly, {kind: 'to', t: T}, markerOnly.entries[0], 'c').kind).toBe('unchanged')
  })
  it('a multipart copy (its own ETag) is recognised by the source version in its metadata', () => {
    const big = hist(v('g', 'g1', 10, {size: 9, etag: '"x"'}), v('g', 'g2', 40, {isLatest: true, size: 9, etag: '"y"'}))
    expect(keyAction(big, {kind: 'to', t: T}, v('g', 'g3', 50, {size: 9, etag: '"z-2"', restoredFrom: 'g1'}), 'g').kind).toBe('unchanged')
  })
  it('--undelete touches only keys deleted after T; --version-id one version', () => {
    const deleted = hist(v('d', 'd1', 10), m('d', 'd2', 40, {isLatest: true}))
    expect(keyAction(deleted, {kind: 'undelete', t: T}, deleted.entries[0], 'd')).toMatchObject({kind: 'copy', versionId: 'd1'})
    const overwritten = hist(v('e', 'e1', 10), v('e', 'e2', 40, {isLatest: true}))
    expect(keyAction(overwritten, {kind: 'undelete', t: T}, overwritten.entries[0], 'e').kind).toBe('unchanged')
    expect(keyAction(overwritten, {kind: 'version', versionId: 'e1'}, overwritten.entries[0], 'e')).toMatchObject({kind: 'copy', versionId: 'e1'})
  })
})

describe('helpers', () => {
  it('copy sources encode the key but keep its slashes; the raw listing order is read with XML entities decoded', () => {
    expect(copySourceOf('b', 'p/sp ace+%ü', 'null')).toBe('b/p/sp%20ace%2B%25%C3%BC?versionId=null')
    expect(listingOrder('<Version><Key>a&amp;b</Key><VersionId>1</VersionId></Version><DeleteMarker><Key>a&amp;b</Key><VersionId>2</VersionId></DeleteMarker>'))
      .toEqual(['a&b\u00001', 'a&b\u00002'])
  })
  it('shards partition the keys; the lifecycle window comes from the shortest noncurrent expiration', () => {
    const keys = Array.from({length: 1000}, (_, i) => `k${i}`)
    const counts = [0, 1, 2, 3].map((i) => keys.filter((k) => shardOf(k, 4) === i).length)
    expect(counts.reduce((a, b) => a + b)).toBe(1000)
    expect(Math.min(...counts)).toBeGreaterThan(200)
    const now = new Date(at(0))
    expect(guaranteedSince([{id: 'r90', enabled: true, prefix: '', noncurrentDays: 90}, {id: 'r7', enabled: true, prefix: 'tmp/', noncurrentDays: 7}], 'datasets/', now))
      .toEqual({since: new Date(now.getTime() - 90 * 86_400_000), rule: 'r90: NoncurrentVersionExpiration 90 days'})
    expect(guaranteedSince([], '', now)).toEqual({})
  })
})

describe('restore plans', () => {
  const o: S3RestoreOptions = {bucket: 'vault-data', prefix: 'p/', mode: {kind: 'to', t: T}, concurrency: 8, multipartThreshold: 5 * 2 ** 30, partSize: 2 ** 29, force: false}
  const s = (e: VersionEntry[], versioning = 'Enabled'): S3RestoreState => ({versioning, rules: [], histories: groupByKey(e), now: at(60)})
  const conn = {endpoint: 'http://127.0.0.1:14900', region: 'us-east-1', forcePathStyle: true}
  it('one typed operation with every key action; counts; refusals from the state alone', () => {
    const {plan, counts} = planS3Restore({name: 'lab', protected: false}, conn, o, s([v('p/a', 'a1', 10), v('p/a', 'a2', 40, {isLatest: true}), v('p/b', 'b1', 40, {isLatest: true}), v('p/c', 'c1', 10, {isLatest: true})]))
    expect(counts).toEqual({copy: 1, delete: 1, unchanged: 1, bytes: 1})
    expect(plan.steps.map((x) => x.op)).toEqual([{kind: 's3.apply-versions', s3: conn, fromBucket: 'vault-data', toBucket: 'vault-data', concurrency: 8, multipartThreshold: 5 * 2 ** 30, partSize: 2 ** 29,
      actions: [{kind: 'copy', key: 'p/a', toKey: 'p/a', versionId: 'a1', size: 1}, {kind: 'delete', key: 'p/b', toKey: 'p/b'}]}])
    expect(() => planS3Restore({name: 'lab', protected: false}, conn, o, s([], 'Suspended'))).toThrow(/versioning Suspended/)
    expect(() => planS3Restore({name: 'lab', protected: false}, conn, o, {...s([]), rules: [{id: 'short', enabled: true, prefix: '', noncurrentDays: 0}]})).toThrow(/older than the bucket's lifecycle rules guarantee/)
    expect(() => planS3Restore({name: 'lab', protected: false}, conn, o, s([v('p/g', 'g1', 10, {storageClass: 'GLACIER'}), v('p/g', 'g2', 40, {isLatest: true})]))).toThrow(/GLACIER/)
  })
})

describe('--engine s3-batch', () => {
  const T2 = new Date('2026-11-27T10:00:00Z')
  const o: S3RestoreOptions = {bucket: 'vault-data', prefix: '', mode: {kind: 'to', t: T2}, concurrency: 8, multipartThreshold: 5 * 2 ** 30, partSize: 2 ** 29, force: false,
    engine: {kind: 's3-batch', accountId: '123456789012', roleArn: 'arn:aws:iam::123456789012:role/b', reportBucket: 'vault-backups', pollSeconds: 10, timeoutSeconds: 3600}}
  const e = (key: string, versionId: string, min: number, more: Partial<VersionEntry> = {}): VersionEntry =>
    ({key, versionId, deleteMarker: false, isLatest: false, lastModified: new Date(T2.getTime() + (min - 30) * 60_000).toISOString(), size: 3, etag: `"${versionId}"`, ...more})
  const state = (entries: VersionEntry[]): S3RestoreState => ({versioning: 'Enabled', rules: [], histories: groupByKey(entries), now: new Date(T2.getTime() + 3_600_000).toISOString()})
  const aws = {region: 'us-east-1', forcePathStyle: false}
  const entries = [e('a b+c', 'a1', 10), e('a b+c', 'a2', 40, {isLatest: true}), e('g', 'g1', 10, {storageClass: 'GLACIER_IR'}), e('g', 'g2', 40, {isLatest: true}), e('new', 'n1', 40, {isLatest: true})]

  it('a manifest and a job per storage class, then the delete markers locally; the manifest is bucket,URL-encoded key,version', () => {
    const {plan} = planS3Restore({name: 'prod', protected: true}, aws, o, state(entries))
    expect(plan.steps.map((s) => s.id)).toEqual(['batch-manifest-standard', 'batch-copy-standard', 'batch-manifest-glacier_ir', 'batch-copy-glacier_ir', 'delete-markers'])
    const m = plan.steps[0]!.op as Extract<Operation, {kind: 's3.put-batch-manifest'}>
    expect(manifestCsv(m.fromBucket, m.copies)).toBe('vault-data,a%20b%2Bc,a1\n')
    const job = (plan.steps[3]!.op as Extract<Operation, {kind: 's3.batch-copy'}>).job
    expect(createJobInput(job, '"etag"')).toMatchObject({AccountId: '123456789012', ConfirmationRequired: false, ClientRequestToken: job.token,
      Operation: {S3PutObjectCopy: {TargetResource: 'arn:aws:s3:::vault-data', MetadataDirective: 'COPY', StorageClass: 'GLACIER_IR'}},
      Manifest: {Spec: {Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key', 'VersionId']}, Location: {ObjectArn: `arn:aws:s3:::vault-backups/${job.manifest.key}`, ETag: '"etag"'}},
      Report: {Enabled: true, Bucket: 'arn:aws:s3:::vault-backups', Prefix: job.report.prefix, ReportScope: 'AllTasks'}})
    // the same plan again: the same token (CreateJob is idempotent on it), so no second job
    const again = planS3Restore({name: 'prod', protected: true}, aws, o, state(entries)).plan
    expect((again.steps[3]!.op as Extract<Operation, {kind: 's3.batch-copy'}>).job.token).toBe(job.token)
    expect((plan.steps[4]!.op as Extract<Operation, {kind: 's3.apply-versions'}>).actions).toEqual([{kind: 'delete', key: 'new', toKey: 'new'}])
  })

  it('refused without S3 Control, for a replaced prefix, and for copies that keep their own locks', () => {
    expect(() => planS3Restore({name: 'lab', protected: false}, {...aws, endpoint: 'http://127.0.0.1:14900'}, o, state(entries))).toThrow(/no S3 Control API/)
    expect(() => planS3Restore({name: 'lab', protected: false}, aws, {...o, prefix: 'p/', toPrefix: 'q/'}, state(entries.map((x) => ({...x, key: `p/${x.key}`}))))).toThrow(/TargetKeyPrefix/)
    const locked: S3RestoreState = {...state(entries), locks: {source: {enabled: true}, target: {enabled: true}, versions: {'a b+c\0a1': {legalHold: true}}}}
    expect(() => planS3Restore({name: 'lab', protected: false}, aws, {...o, toBucket: 'other'}, locked)).toThrow(/one lock for all its copies/)
  })

  it('reads the completion report (quoted fields, failures named with their decoded keys)', () => {
    expect(csvFields('b,k%2C1,v1,failed,AccessDenied,403,"Access Denied, really ""no"""')).toEqual(['b', 'k%2C1', 'v1', 'failed', 'AccessDenied', '403', 'Access Denied, really "no"'])
    expect(readReport(['b,a,v1,succeeded,,200,Successful\nb,a%20b,v2,failed,AccessDenied,403,"Access Denied"\n', 'b,c,v3,succeeded,,200,\n']))
      .toEqual({succeeded: 2, failed: 1, failures: [{key: 'a b', versionId: 'v2', code: 'AccessDenied', message: 'Access Denied'}]})
  })
})

describe('--engine k8s-job', () => {
  it('each pod runs the same restore on its own shard, without a prompt; the pods\' config holds only references to secrets', async () => {
    const o: S3RestoreOptions = {bucket: 'vault-data', prefix: 'datasets/', mode: {kind: 'undelete', t: new Date('2026-11-27T10:00:00Z')}, toPrefix: 'x/', concurrency: 16,
      multipartThreshold: 100, partSize: 50, force: true, acceptLock: true}
    expect(shardArgs(o, 'prod', 4)).toEqual(['restore', 's3', '--env', 'prod', '--bucket', 'vault-data', '--prefix', 'datasets/', '--to', '2026-11-27T10:00:00.000Z', '--undelete',
      '--to-prefix', 'x/', '--concurrency', '16', '--multipart-threshold', '100', '--part-size', '50', '--force', '--accept-object-lock', '--shard', '$(JOB_COMPLETION_INDEX)/4', '--yes', '--json'])
    const env = {protected: true, s3: {region: 'eu-west-1', forcePathStyle: false, buckets: {data: 'vault-data', backups: 'vault-backups', audit: 'vault-audit'},
      accessKeyIdFrom: {file: '/secret/key'}, secretAccessKeyFrom: {file: '/secret/secret'}}}
    const [cm, job] = await renderRestoreJob(o, {envName: 'prod', env, shards: 4, image: 'img:1', serviceAccount: 'vaultctl', deadlineSeconds: 60})
    const config = parseConfig((cm as {data: Record<string, string>}).data['vaultctl.yaml']!, 'cm')
    expect(config.environments.prod!.s3).toEqual({region: 'eu-west-1', forcePathStyle: false, buckets: env.s3.buckets})
    expect(job).toMatchObject({kind: 'Job', spec: {completionMode: 'Indexed', completions: 4, parallelism: 4, activeDeadlineSeconds: 60}})
  })
})
