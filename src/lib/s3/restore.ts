// `restore s3`: make a prefix (or one key) look as it did at T, undelete, or bring back one
// version; in place or into another bucket/prefix. observeS3Restore reads the version history,
// versioning and lifecycle rules; planS3Restore is pure.
import {refusal, usageError} from '../errors.js'
import {digest} from '../plan/data.js'
import type {S3KeyAction} from '../plan/ops-s3.js'
import type {OpStep, Plan} from '../plan/types.js'
import {batchToken, manifestCsv, type CopyAction} from './batch.js'
import type {S3Client, S3Conn} from '../clients/s3.js'
import {ARCHIVED, currentOf, groupByKey, guaranteedSince, isLocked, keyAction, mapKey, shardOf, type BucketLock, type KeyAction, type KeyHistory, type LifecycleRule, type RestoreMode, type VersionEntry, type VersionLock} from './versions.js'
import {s3Where} from './conn.js'

export type S3RestoreOptions = {
  bucket: string
  prefix: string
  key?: string
  mode: RestoreMode
  /** read the history from this bucket instead (a replica, when the source is gone) */
  fromBucket?: string
  toBucket?: string
  toPrefix?: string
  shard?: {index: number; count: number}
  concurrency: number
  multipartThreshold: number
  partSize: number
  /** restore to a time older than the lifecycle rules guarantee */
  force: boolean
  /** go on despite Object Lock: copies locked by the target's default retention, locks not carried over, held versions superseded */
  acceptLock?: boolean
  /** who copies: this process (default), or S3 Batch Operations */
  engine?: BatchEngine
}

/** S3 Batch Operations: the account and role the job runs as, where the manifest and report go. */
export type BatchEngine = {kind: 's3-batch'; accountId: string; roleArn: string; reportBucket: string; controlEndpoint?: string; pollSeconds: number; timeoutSeconds: number}

export type S3RestoreState = {
  versioning: string
  rules: LifecycleRule[]
  histories: KeyHistory[]
  /** what the destination holds now, key by key (only when it is not the source itself) */
  targets?: Record<string, VersionEntry>
  /** Object Lock, read only where a bucket has it: each bucket's, and the locks of the versions involved ("key\0versionId") */
  locks?: ObjectLocks
  now: string
}

export type ObjectLocks = {source: BucketLock; target: BucketLock; versions: Record<string, VersionLock>}

const lockKey = (key: string, versionId: string) => `${key}\0${versionId}`

const source = (o: S3RestoreOptions) => o.fromBucket ?? o.bucket
const target = (o: S3RestoreOptions) => o.toBucket ?? o.bucket
/** The restore writes over the keys it reads (the same bucket and prefix). */
export const inPlace = (o: S3RestoreOptions) => target(o) === source(o) && (o.toPrefix === undefined || o.toPrefix === o.prefix)

function selected(o: S3RestoreOptions, histories: KeyHistory[]): KeyHistory[] {
  return histories.filter((h) => (o.key === undefined || h.key === o.key) && (!o.shard || shardOf(h.key, o.shard.count) === o.shard.index))
}

/** Each selected key's action, given what the destination holds. */
export function actionsOf(o: S3RestoreOptions, s: S3RestoreState): KeyAction[] {
  return selected(o, s.histories).map((h) => {
    const toKey = mapKey(h.key, o.prefix, o.toPrefix)
    const dest = s.targets ? s.targets[toKey] : currentOf(h)
    const a = keyAction(h, o.mode, dest, toKey)
    // A copy into a bucket with Object Lock keeps the locks of the version it copies.
    const lock = a.kind === 'copy' && s.locks?.target.enabled ? s.locks.versions[lockKey(a.key, a.versionId)] : undefined
    return lock && isLocked(lock, new Date(s.now)) ? {...a, lock} : a
  })
}

export async function observeS3Restore(conn: S3Conn, o: S3RestoreOptions): Promise<S3RestoreState> {
  const {s3Client, bucketVersioning} = await import('../clients/s3.js')
  const {lifecycleRules, listVersions, restoredFrom} = await import('../clients/s3-versions.js')
  const client = await s3Client(conn, {maxAttempts: 8, retryMode: 'adaptive'})
  try {
    const versioning = await bucketVersioning(client, source(o))
    const rules = await lifecycleRules(client, source(o))
    const histories = groupByKey(await listVersions(client, source(o), o.key ?? o.prefix))
    let targets: Record<string, VersionEntry> | undefined
    if (!inPlace(o)) {
      const toPrefix = o.toPrefix ?? o.prefix
      targets = Object.fromEntries(groupByKey(await listVersions(client, target(o), o.key ? mapKey(o.key, o.prefix, o.toPrefix) : toPrefix))
        .map((h) => [h.key, currentOf(h)!]))
    }
    const state: S3RestoreState = {versioning, rules, histories, ...(targets ? {targets} : {}), now: new Date().toISOString()}
    const locks = await observeLocks(client, o, state)
    if (locks) state.locks = locks
    // A multipart copy has an ETag of its own: it names the version it came from in its metadata.
    for (const a of actionsOf(o, state)) {
      if (a.kind !== 'copy' || a.size <= o.multipartThreshold) continue
      const dest = targets ? targets[a.toKey] : currentOf(histories.find((h) => h.key === a.key)!)
      if (!dest || dest.deleteMarker || dest.size !== a.size) continue
      const from = await restoredFrom(client, target(o), a.toKey, dest.versionId)
      if (from) dest.restoredFrom = from
    }
    return state
  } finally {
    client.destroy()
  }
}

/**
 * Object Lock, when either bucket has it: the locks of the versions to copy (carried over, or
 * refused when the target cannot hold them) and of the current versions a restore in place would
 * supersede. HeadObject per version, so only for buckets with Object Lock.
 */
async function observeLocks(client: S3Client, o: S3RestoreOptions, s: S3RestoreState): Promise<ObjectLocks | undefined> {
  const {bucketLock, versionLock} = await import('../clients/s3-versions.js')
  const src = await bucketLock(client, source(o))
  const dst = target(o) === source(o) ? src : await bucketLock(client, target(o))
  if (!src.enabled && !dst.enabled) return undefined
  const versions: Record<string, VersionLock> = {}
  if (src.enabled) {
    const actions = actionsOf(o, s)
    const wanted = actions.flatMap((a): [string, string][] => (a.kind === 'copy' ? [[a.key, a.versionId]] : []))
    const all = [...wanted, ...superseded(o, s, actions).map((x): [string, string] => [x.key, x.versionId])]
    for (let i = 0; i < all.length; i += 32) {
      await Promise.all(all.slice(i, i + 32).map(async ([key, id]) => {
        const l = await versionLock(client, source(o), key, id)
        if (l) versions[lockKey(key, id)] = l
      }))
    }
  }
  return {source: src, target: dst, versions}
}

/** In place: the current versions (not delete markers) of the keys a restore changes, which stop being current. */
function superseded(o: S3RestoreOptions, s: S3RestoreState, actions: KeyAction[]): {key: string; versionId: string}[] {
  if (!inPlace(o)) return []
  const byKey = new Map(s.histories.map((h) => [h.key, h]))
  return actions.flatMap((a) => {
    const cur = a.kind === 'unchanged' ? undefined : currentOf(byKey.get(a.key)!)
    return cur && !cur.deleteMarker ? [{key: a.key, versionId: cur.versionId}] : []
  })
}

const FORCE_LOCK = 'Pass --accept-object-lock to go on anyway.'

function refuseLocks(o: S3RestoreOptions, s: S3RestoreState, actions: KeyAction[]): void {
  const l = s.locks
  if (!l || o.acceptLock) return
  const now = new Date(s.now)
  const copies = actions.filter((a): a is Extract<KeyAction, {kind: 'copy'}> => a.kind === 'copy')
  const r = l.target.defaultRetention
  if (r?.mode === 'COMPLIANCE' && copies.length) {
    throw refusal('S3_OBJECT_LOCK', `bucket ${target(o)} locks every new version in COMPLIANCE mode for ${r.days} day(s): the ${copies.length} copies this restore writes could not be deleted by anyone, root included, before then`,
      ['Restore into a bucket without default COMPLIANCE retention (--to-bucket), or accept the retention:', FORCE_LOCK])
  }
  const lost = copies.filter((a) => isLocked(l.versions[lockKey(a.key, a.versionId)], now))
  if (lost.length && !l.target.enabled) {
    throw refusal('S3_OBJECT_LOCK', `${lost.length} version(s) to copy are under legal hold or retention (${lost.slice(0, 5).map((a) => `${a.key}@${a.versionId}`).join(', ')}${lost.length > 5 ? ', ...' : ''}); bucket ${target(o)} has no Object Lock, so the copies would not be`,
      [`Copy into a bucket created with Object Lock (aws s3api create-bucket --bucket B --object-lock-enabled-for-bucket): the copies keep their locks.`, FORCE_LOCK])
  }
  if (inPlace(o)) {
    const held = superseded(o, s, actions).filter((x) => isLocked(l.versions[lockKey(x.key, x.versionId)], now))
    if (held.length) {
      throw refusal('S3_OBJECT_LOCK', `${held.length} key(s) to change have a current version under legal hold or retention (${held.slice(0, 5).map((a) => a.key).join(', ')}${held.length > 5 ? ', ...' : ''}): the held versions stay, but would no longer be current`,
        ['Check with whoever placed the hold (aws s3api get-object-legal-hold --bucket B --key K --version-id V), or restore elsewhere with --to-bucket/--to-prefix.', FORCE_LOCK])
    }
  }
}

function refuse(o: S3RestoreOptions, s: S3RestoreState, actions: KeyAction[]): void {
  if (s.versioning !== 'Enabled') {
    throw refusal('S3_NOT_VERSIONED', `bucket ${source(o)} has versioning ${s.versioning}: there is no history to restore from${s.versioning === 'Suspended' ? ' for writes made while it was suspended' : ''}`,
      [`Turn versioning on for what happens from now on: aws s3api put-bucket-versioning --bucket ${source(o)} --versioning-configuration Status=Enabled`,
        'A replica bucket (cross-region replication) may still hold the history: --from-bucket REPLICA.'])
  }
  const t = o.mode.kind === 'version' ? undefined : o.mode.t
  const window = guaranteedSince(s.rules, o.prefix, new Date(s.now))
  if (t && window.since && t < window.since && !o.force) {
    throw refusal('S3_OUTSIDE_WINDOW', `${t.toISOString()} is older than the bucket's lifecycle rules guarantee a complete history (from ${window.since.toISOString()}; ${window.rule})`,
      ['Versions older than that may have expired: pass --force to restore what is left anyway.'], {window: {since: window.since.toISOString(), rule: window.rule}})
  }
  const archived = actions.filter((a): a is Extract<KeyAction, {kind: 'copy'}> => a.kind === 'copy' && ARCHIVED.has(a.storageClass ?? ''))
  if (archived.length) {
    throw refusal('S3_ARCHIVED', `${archived.length} version(s) to restore are in ${[...new Set(archived.map((a) => a.storageClass))].join('/')}: ${archived.slice(0, 10).map((a) => `${a.key}@${a.versionId}`).join(', ')}${archived.length > 10 ? ', ...' : ''}`,
      [`Restore them from the archive first (aws s3api restore-object --bucket ${source(o)} --key KEY --version-id V --restore-request Days=7), wait, then re-run.`])
  }
  refuseLocks(o, s, actions)
}

export type S3RestoreCounts = {copy: number; delete: number; unchanged: number; bytes: number}

export function planS3Restore(env: {name: string; protected: boolean}, conn: Pick<S3Conn, 'endpoint' | 'region' | 'forcePathStyle'>, o: S3RestoreOptions, s: S3RestoreState): {plan: Plan; actions: KeyAction[]; counts: S3RestoreCounts} {
  const actions = actionsOf(o, s)
  refuse(o, s, actions)
  const work = actions.filter((a): a is S3KeyAction => a.kind !== 'unchanged')
  const counts: S3RestoreCounts = {copy: work.filter((a) => a.kind === 'copy').length, delete: work.filter((a) => a.kind === 'delete').length,
    unchanged: actions.length - work.length, bytes: work.reduce((n, a) => n + (a.kind === 'copy' ? a.size : 0), 0)}
  const what = o.mode.kind === 'version' ? `version ${o.mode.versionId} of ${o.key}` : `${o.key ?? `s3://${source(o)}/${o.prefix}`} ${o.mode.kind === 'undelete' ? 'undeleted to its state at' : 'as it was at'} ${o.mode.t.toISOString()}`
  const where = inPlace(o) ? 'in place' : `into s3://${target(o)}/${o.toPrefix ?? o.prefix}`
  const window = guaranteedSince(s.rules, o.prefix, new Date(s.now))
  return {actions, counts, plan: {
    command: 'restore s3', env: env.name, protected: env.protected, confirmOnProtected: inPlace(o),
    summary: `${what}, ${where}: ${counts.copy} to copy (${counts.bytes} bytes), ${counts.delete} to delete (a new delete marker each), ${counts.unchanged} unchanged; no version is removed`,
    observed: {bucket: source(o), versioning: s.versioning, keys: actions.length, versions: s.histories.reduce((n, h) => n + h.entries.length, 0),
      guaranteedSince: window.since?.toISOString() ?? 'no lifecycle limit', ...(o.shard ? {shard: `${o.shard.index}/${o.shard.count}`} : {})},
    // A saved plan applies while every key's current version is what it was.
    fingerprint: {versioning: s.versioning, current: digest(selected(o, s.histories).map((h) => [h.key, currentOf(h)?.versionId ?? null])),
      ...(s.targets ? {targets: digest(Object.entries(s.targets).map(([k, v]) => [k, v.versionId]).sort())} : {})},
    preconditions: [],
    steps: work.length === 0 ? [] : o.engine ? batchSteps(o, o.engine, conn, work) : [applyStep(o, conn, work, `${counts.copy} server-side copies, ${counts.delete} delete markers, ${o.concurrency} at a time`)],
    recovery: 'No version was deleted: every key\'s history is intact, including what this run wrote. Re-run the same command: keys already in their wanted state are left alone, so no key gets a second new version.',
  }}
}


function applyStep(o: S3RestoreOptions, conn: Pick<S3Conn, 'endpoint' | 'region' | 'forcePathStyle'>, actions: S3KeyAction[], title: string, id = 'apply-versions'): OpStep {
  return {id, title, risk: inPlace(o) ? 'destructive' : 'write',
    op: {kind: 's3.apply-versions', s3: s3Where(conn), fromBucket: source(o), toBucket: target(o), actions, concurrency: o.concurrency, multipartThreshold: o.multipartThreshold, partSize: o.partSize}}
}

/**
 * S3 Batch Operations: per storage class, a manifest and one S3PutObjectCopy job (a job has one
 * storage class); the delete markers, which are no Batch operation, by this process after them.
 */
function batchSteps(o: S3RestoreOptions, e: BatchEngine, conn: Pick<S3Conn, 'endpoint' | 'region' | 'forcePathStyle'>, work: S3KeyAction[]): OpStep[] {
  if (conn.endpoint && !e.controlEndpoint) {
    throw refusal('S3_BATCH_UNAVAILABLE', `S3 Batch Operations is an AWS service: this environment's S3 is ${conn.endpoint}, which has no S3 Control API (MinIO and moto have none)`,
      ['Spread the work with --shard I/N processes, or --engine k8s-job --shards N;', 'or name an S3 Control endpoint that serves it: --s3-control-endpoint URL.'])
  }
  if (o.toPrefix !== undefined && o.toPrefix !== o.prefix && o.prefix !== '') {
    throw usageError('BATCH_PREFIX', `--engine s3-batch can only prepend --to-prefix to each whole key (S3PutObjectCopy's TargetKeyPrefix), not replace --prefix ${o.prefix}`,
      ['Restore with --to-prefix and no --prefix, or use the local engine (--shard / --engine k8s-job) to replace the prefix.'])
  }
  const copies = work.filter((a): a is CopyAction => a.kind === 'copy')
  const locked = copies.filter((a) => a.lock)
  if (locked.length) {
    throw refusal('S3_OBJECT_LOCK', `${locked.length} copies keep their own legal hold or retention (${locked.slice(0, 3).map((a) => a.key).join(', ')}${locked.length > 3 ? ', ...' : ''}); an S3 Batch Operations job sets one lock for all its copies`,
      ['Restore these keys with the local engine (--shard I/N, or --engine k8s-job), which copies each version with its own locks.'])
  }
  const deletes = work.filter((a) => a.kind === 'delete')
  const classes = [...new Set(copies.map((a) => a.storageClass ?? ''))].sort()
  const toPrefix = o.toPrefix !== undefined && o.toPrefix !== o.prefix ? o.toPrefix : undefined
  const steps: OpStep[] = classes.flatMap((cls) => {
    const group = copies.filter((a) => (a.storageClass ?? '') === cls)
    const token = batchToken(manifestCsv(source(o), group), target(o), toPrefix, cls)
    const dir = `vaultctl/s3-batch/${token.slice(0, 16)}`
    const suffix = classes.length > 1 ? `-${(cls || 'standard').toLowerCase()}` : ''
    return [
      {id: `batch-manifest${suffix}`, title: `write the manifest of ${group.length} copies to s3://${e.reportBucket}/${dir}/manifest.csv`, risk: 'write' as const,
        op: {kind: 's3.put-batch-manifest' as const, s3: s3Where(conn), bucket: e.reportBucket, key: `${dir}/manifest.csv`, fromBucket: source(o), copies: group}},
      {id: `batch-copy${suffix}`, title: `S3 Batch Operations: ${group.length} server-side copies into s3://${target(o)}/${toPrefix ?? ''}${cls ? ` (${cls})` : ''}, then its completion report`, risk: inPlace(o) ? 'destructive' as const : 'write' as const,
        op: {kind: 's3.batch-copy' as const, s3: s3Where(conn), control: {region: conn.region, ...(e.controlEndpoint ? {endpoint: e.controlEndpoint} : {})}, pollSeconds: e.pollSeconds, timeoutSeconds: e.timeoutSeconds,
          job: {accountId: e.accountId, roleArn: e.roleArn, fromBucket: source(o), toBucket: target(o), ...(toPrefix ? {targetKeyPrefix: toPrefix} : {}), ...(cls ? {storageClass: cls} : {}),
            manifest: {bucket: e.reportBucket, key: `${dir}/manifest.csv`}, report: {bucket: e.reportBucket, prefix: dir}, token,
            scope: `vaultctl restore s3 into s3://${target(o)}/${toPrefix ?? o.prefix}`, description: `vaultctl restore s3 into s3://${target(o)}/${toPrefix ?? o.prefix}: ${token.slice(0, 16)}, ${group.length} copies`}}},
    ]
  })
  if (deletes.length) steps.push(applyStep(o, conn, deletes, `${deletes.length} delete markers, ${o.concurrency} at a time`, 'delete-markers'))
  return steps
}
