// The state of versioned keys at a point in time, and what makes a prefix look as it did then.
// Pure: fed the complete version listing (every page, versions and delete markers together), so a
// key whose history spans listing pages is decided on all of it (s3-pit-restore decides per page
// and gets those keys wrong).

/** One entry of a key's history: a version or a delete marker. */
export type VersionEntry = {
  key: string
  versionId: string
  deleteMarker: boolean
  isLatest: boolean
  /** ISO time */
  lastModified: string
  size?: number
  etag?: string
  storageClass?: string
  /** position in the version listing (which lists each key's history newest first) */
  seq?: number
  /** the version a multipart restore copied this one from (its metadata), when known */
  restoredFrom?: string
}

/** A key's history, newest first (as ListObjectVersions orders it; ties broken by IsLatest). */
export type KeyHistory = {key: string; entries: VersionEntry[]}

export function groupByKey(entries: VersionEntry[]): KeyHistory[] {
  const byKey = new Map<string, VersionEntry[]>()
  for (const e of entries) {
    const list = byKey.get(e.key)
    if (list) list.push(e)
    else byKey.set(e.key, [e])
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, list]) => ({key, entries: [...list].sort(newestFirst)}))
}

/**
 * Newest first: by time, and within the same time by the listing's own order (S3 lists a key's
 * history newest first and interleaves versions and delete markers, but lists whole seconds; MinIO
 * lists milliseconds). moto lists all versions before all delete markers, in whole seconds: there,
 * a put and a delete of one key within the same second cannot be ordered.
 */
function newestFirst(a: VersionEntry, b: VersionEntry): number {
  const byTime = b.lastModified.localeCompare(a.lastModified)
  if (byTime !== 0) return byTime
  if (a.seq !== undefined && b.seq !== undefined) return a.seq - b.seq
  return a.isLatest === b.isLatest ? 0 : a.isLatest ? -1 : 1
}

/** A CopySource header: bucket/key?versionId=V with the key URL-encoded (its slashes kept). */
export const copySourceOf = (bucket: string, key: string, versionId: string) =>
  `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}?versionId=${encodeURIComponent(versionId)}`

/** The entry that was current at `t` (the newest with LastModified <= t), if any. */
export const stateAt = (h: KeyHistory, t: Date): VersionEntry | undefined => h.entries.find((e) => new Date(e.lastModified) <= t)

export const currentOf = (h: KeyHistory): VersionEntry | undefined => h.entries.find((e) => e.isLatest) ?? h.entries[0]

/** Storage classes whose versions cannot be copied until they are restored from the archive. */
export const ARCHIVED = new Set(['GLACIER', 'DEEP_ARCHIVE'])

/** A bucket's Object Lock: enabled, and the retention every new version gets by default. */
export type BucketLock = {enabled: boolean; defaultRetention?: {mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number}}

/** One version's locks (HeadObject): a legal hold, a retention until a time. */
export type VersionLock = {legalHold?: boolean; mode?: 'GOVERNANCE' | 'COMPLIANCE'; until?: string}

export const isLocked = (l: VersionLock | undefined, now: Date) => Boolean(l && (l.legalHold || (l.mode && l.until && new Date(l.until) > now)))

export type KeyAction =
  | {kind: 'copy'; key: string; toKey: string; versionId: string; size: number; storageClass?: string; lock?: VersionLock}
  | {kind: 'delete'; key: string; toKey: string}
  | {kind: 'unchanged'; key: string; toKey: string; why: string}

export type RestoreMode = {kind: 'to'; t: Date} | {kind: 'undelete'; t: Date} | {kind: 'version'; versionId: string}

/** Where a key goes: the same key, or under another prefix. */
export const mapKey = (key: string, fromPrefix: string, toPrefix?: string): string => (toPrefix === undefined ? key : toPrefix + key.slice(fromPrefix.length))

const sameContent = (a: VersionEntry | undefined, b: VersionEntry) => Boolean(a && !a.deleteMarker && ((a.etag && b.etag && a.etag === b.etag && a.size === b.size) || a.restoredFrom === b.versionId))

/**
 * What to do for one key. `target` is what the destination currently holds (the same key in
 * place; another key with --to-bucket/--to-prefix): content already equal to the wanted version
 * is left alone, so a re-run after an interruption adds no second version.
 */
export function keyAction(h: KeyHistory, mode: RestoreMode, target: VersionEntry | undefined, toKey: string): KeyAction {
  const wanted = mode.kind === 'version' ? h.entries.find((e) => e.versionId === mode.versionId) : stateAt(h, mode.t)
  if (mode.kind === 'undelete') {
    const current = currentOf(h)
    if (!current?.deleteMarker || new Date(current.lastModified) <= mode.t) return {kind: 'unchanged', key: h.key, toKey, why: 'not deleted after the time'}
  }
  if (mode.kind === 'version' && !wanted) return {kind: 'unchanged', key: h.key, toKey, why: `no version ${mode.versionId}`}
  if (!wanted || wanted.deleteMarker) {
    return !target || target.deleteMarker ? {kind: 'unchanged', key: h.key, toKey, why: 'absent, as wanted'} : {kind: 'delete', key: h.key, toKey}
  }
  if (sameContent(target, wanted)) return {kind: 'unchanged', key: h.key, toKey, why: `already ${target!.versionId === wanted.versionId ? 'that version' : 'the same content'}`}
  return {kind: 'copy', key: h.key, toKey, versionId: wanted.versionId, size: wanted.size ?? 0,
    ...(wanted.storageClass && wanted.storageClass !== 'STANDARD' ? {storageClass: wanted.storageClass} : {})}
}

/** sha-like stable shard of a key: keys with the same hash modulo n belong to shard i. */
export function shardOf(key: string, n: number): number {
  let h = 0x811c9dc5
  for (const c of Buffer.from(key, 'utf8')) {
    h ^= c
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h % n
}

/**
 * The earliest time the bucket's lifecycle rules still guarantee a complete history for `prefix`:
 * noncurrent versions expire `days` after they became noncurrent, so a state older than that may
 * have lost versions. undefined: no rule limits it.
 */
export function guaranteedSince(rules: LifecycleRule[], prefix: string, now: Date): {since?: Date; rule?: string} {
  const applicable = rules.filter((r) => r.enabled && (prefix.startsWith(r.prefix) || r.prefix.startsWith(prefix)))
  const days = applicable.map((r) => ({days: r.noncurrentDays, id: r.id})).filter((r): r is {days: number; id: string} => r.days !== undefined)
  if (days.length === 0) return {}
  const min = days.reduce((a, b) => (b.days < a.days ? b : a))
  return {since: new Date(now.getTime() - min.days * 86_400_000), rule: `${min.id}: NoncurrentVersionExpiration ${min.days} days`}
}

export type LifecycleRule = {id: string; enabled: boolean; prefix: string; noncurrentDays?: number; expiredDeleteMarkers?: boolean; currentDays?: number}
