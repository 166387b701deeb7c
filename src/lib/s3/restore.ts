// `restore s3`: make a prefix (or one key) look as it did at T, undelete, or bring back one
// version; in place or into another bucket/prefix. observeS3Restore reads the version history,
// versioning and lifecycle rules; planS3Restore is pure.
import {refusal} from '../errors.js'
import {digest} from '../plan/data.js'
import type {S3KeyAction} from '../plan/ops-s3.js'
import type {Plan} from '../plan/types.js'
import type {S3Conn} from '../clients/s3.js'
import {ARCHIVED, currentOf, groupByKey, guaranteedSince, keyAction, mapKey, shardOf, type KeyAction, type KeyHistory, type LifecycleRule, type RestoreMode, type VersionEntry} from './versions.js'

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
}

export type S3RestoreState = {
  versioning: string
  rules: LifecycleRule[]
  histories: KeyHistory[]
  /** what the destination holds now, key by key (only when it is not the source itself) */
  targets?: Record<string, VersionEntry>
  now: string
}

const source = (o: S3RestoreOptions) => o.fromBucket ?? o.bucket
const target = (o: S3RestoreOptions) => o.toBucket ?? o.bucket
const inPlace = (o: S3RestoreOptions) => target(o) === source(o) && (o.toPrefix === undefined || o.toPrefix === o.prefix)

function selected(o: S3RestoreOptions, histories: KeyHistory[]): KeyHistory[] {
  return histories.filter((h) => (o.key === undefined || h.key === o.key) && (!o.shard || shardOf(h.key, o.shard.count) === o.shard.index))
}

/** Each selected key's action, given what the destination holds. */
export function actionsOf(o: S3RestoreOptions, s: S3RestoreState): KeyAction[] {
  return selected(o, s.histories).map((h) => {
    const toKey = mapKey(h.key, o.prefix, o.toPrefix)
    const dest = s.targets ? s.targets[toKey] : currentOf(h)
    return keyAction(h, o.mode, dest, toKey)
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
    steps: work.length === 0 ? [] : [{id: 'apply-versions', title: `${counts.copy} server-side copies, ${counts.delete} delete markers, ${o.concurrency} at a time`, risk: inPlace(o) ? 'destructive' : 'write',
      op: {kind: 's3.apply-versions', s3: {...(conn.endpoint ? {endpoint: conn.endpoint} : {}), region: conn.region, forcePathStyle: conn.forcePathStyle},
        fromBucket: source(o), toBucket: target(o), actions: work, concurrency: o.concurrency, multipartThreshold: o.multipartThreshold, partSize: o.partSize}}],
    recovery: 'No version was deleted: every key\'s history is intact, including what this run wrote. Re-run the same command: keys already in their wanted state are left alone, so no key gets a second new version.',
  }}
}
