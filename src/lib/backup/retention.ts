// `backup prune`: what the retention policy keeps, as a plan. Pure: from the catalog (and, for
// --delete-versions, the version listing) to typed delete operations.
//
// The policy (architecture 8.1): full backups are kept `fullDays`; point-in-time restore reaches
// `walDays` back. The instant `at - walDays` is restorable from the newest backup that finished
// before it (the anchor), so the WAL from the anchor's start on is kept, on every timeline (LSNs
// are shared by all timelines: a segment before that position is read by no kept backup's
// recovery). An older backup that is still kept holds its own WAL (pg_basebackup -X fetch) and
// keeps the archived segments of its own start..end. History files are never deleted. Then the
// window the kept objects give is computed again and compared with today's: a kept backup from the
// anchor on must keep exactly its window, else the plan is refused (a bug, never a deletion).
import {failure} from '../errors.js'
import {formatBytes} from '../units.js'
import type {S3Where} from '../plan/operations.js'
import type {Plan, Step} from '../plan/types.js'
import type {ListedObject} from '../clients/s3.js'
import type {VersionEntry} from '../s3/versions.js'
import type {BackupManifest} from './base.js'
import type {Catalog, RetentionMarker} from './catalog.js'
import {basePrefix, divergedPrefix, parseLsn, parseSegmentName, retentionKey, s3Url, segmentName, segnoOf, walPrefix, type BackupLocation} from './layout.js'
import {computeWindow} from './window.js'

export type Retention = {fullDays: number; walDays: number; minBackups: number}
export type ObjectRef = {key: string; versionId?: string}

const DAY = 86_400_000
/** An incomplete backup (tar without manifest) younger than this may still be running. */
const INCOMPLETE_GRACE_MS = DAY

export type PruneDecision = {
  at: string
  policy: Retention
  /** the backup that makes `at - walDays` restorable; the WAL from its start on is kept */
  anchor?: string
  walFrom?: string
  keep: {id: string; finishedAt: string; why: string}[]
  drop: {id: string; finishedAt: string; bytes: number; keys: string[]}[]
  wal: {delete: string[]; deleteBytes: number; kept: number}
  diverged: {delete: string[]; deleteBytes: number}
  incomplete: {delete: {id: string; keys: string[]}[]; deleteBytes: number}
  versions?: {delete: ObjectRef[]; deleteBytes: number}
  windowBefore: {earliest?: string; latest?: string}
  windowAfter: {earliest?: string; latest?: string}
}

/** The 24-hex segment a WAL file name (segment, .partial, .backup, diverged copy) is about; undefined for history files. */
const segnoOfName = (name: string) => (/^[0-9A-F]{24}/.test(name) && !/\.history$/.test(name) ? parseSegmentName(name.slice(0, 24))?.segno : undefined)

export function decidePrune(c: Catalog, loc: BackupLocation, policy: Retention, at: Date, versions?: VersionEntry[]): PruneDecision {
  const backups = [...c.backups].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt))
  const fullCut = new Date(at.getTime() - policy.fullDays * DAY)
  const walCut = new Date(at.getTime() - policy.walDays * DAY)
  const before = backups.filter((b) => new Date(b.finishedAt) <= walCut)
  const anchor = before.at(-1) ?? backups[0]
  const keep = new Map<string, string>()
  const why = (b: BackupManifest, reason: string) => void (keep.has(b.id) || keep.set(b.id, reason))
  if (anchor) why(anchor, before.length ? `the newest backup before ${walCut.toISOString()}: point-in-time restore reaches back ${policy.walDays} days from it` : 'the oldest backup: the window starts at it')
  for (const b of backups.slice(-policy.minBackups)) why(b, `one of the newest ${policy.minBackups}`)
  for (const b of backups) if (new Date(b.finishedAt) >= fullCut) why(b, `finished within ${policy.fullDays} days`)
  const kept = backups.filter((b) => keep.has(b.id))
  const dropped = backups.filter((b) => !keep.has(b.id))

  // WAL: from the lowest start of the anchor and every kept backup after it; older kept backups keep their own start..end.
  const fromAnchor = anchor ? kept.filter((b) => b.finishedAt >= anchor.finishedAt) : []
  const walFrom = fromAnchor.length ? Math.min(...fromAnchor.map((b) => segnoOf(parseLsn(b.startLsn)))) : undefined
  const own = kept.filter((b) => !fromAnchor.includes(b)).map((b) => [segnoOf(parseLsn(b.startLsn)), segnoOf(Math.max(parseLsn(b.endLsn) - 1, parseLsn(b.startLsn)))] as const)
  const needed = (name: string) => {
    const s = segnoOfName(name)
    if (s === undefined) return true // history files, and anything that is not a WAL name
    if (walFrom === undefined) return true // no backup: nothing is pruned
    return s >= walFrom || own.some(([lo, hi]) => s >= lo && s <= hi)
  }
  const walDelete = c.wal.filter((w) => !needed(w.name))
  const walKept = c.wal.filter((w) => needed(w.name))
  const divergedDelete = c.diverged.filter((o) => !needed(o.key.slice(divergedPrefix(loc).length)))

  const objectsOf = (id: string) => c.objects.filter((o) => o.key.startsWith(`${basePrefix(loc)}${id}/`))
  const newest = backups.at(-1)
  const incomplete = c.incomplete.filter((id) => newest && id < newest.id && idTime(id) !== undefined && idTime(id)! < at.getTime() - INCOMPLETE_GRACE_MS)

  // The window after, from what is kept, against the window now: nothing from the anchor on may change.
  const after = computeWindow(kept, walKept, c.histories, walFrom)
  for (const b of fromAnchor) {
    const was = c.window.backups.find((w) => w.backup === b.id)
    const now = after.backups.find((w) => w.backup === b.id)
    if (was && (!now || now.lastSegment !== was.lastSegment || now.toLsn !== was.toLsn)) {
      throw failure('PRUNE_UNSAFE', `pruning would shorten the window of backup ${b.id} (${was.lastSegment} -> ${now?.lastSegment ?? 'none'}): nothing was deleted`, ['Report this: the retention rules must never cut a kept backup\'s WAL.'])
    }
  }

  const deletedKeys = new Set([...dropped.flatMap((b) => objectsOf(b.id).map((o) => o.key)), ...walDelete.map((w) => `${walPrefix(loc)}${w.name}`),
    ...divergedDelete.map((o) => o.key), ...incomplete.flatMap((id) => objectsOf(id).map((o) => o.key))])
  const sum = (xs: {size?: number}[]) => xs.reduce((n, x) => n + (x.size ?? 0), 0)
  return {
    at: at.toISOString(), policy, ...(anchor ? {anchor: anchor.id} : {}), ...(walFrom !== undefined && anchor ? {walFrom: segmentName(anchor.timeline, walFrom)} : {}),
    keep: kept.map((b) => ({id: b.id, finishedAt: b.finishedAt, why: keep.get(b.id)!})),
    drop: dropped.map((b) => ({id: b.id, finishedAt: b.finishedAt, bytes: sum(objectsOf(b.id)), keys: objectsOf(b.id).map((o) => o.key)})),
    wal: {delete: walDelete.map((w) => w.name), deleteBytes: sum(walDelete), kept: walKept.length},
    diverged: {delete: divergedDelete.map((o) => o.key), deleteBytes: sum(divergedDelete)},
    incomplete: {delete: incomplete.map((id) => ({id, keys: objectsOf(id).map((o) => o.key)})), deleteBytes: sum(incomplete.flatMap(objectsOf))},
    ...(versions ? {versions: purgeable(versions, deletedKeys)} : {}),
    windowBefore: {earliest: c.window.earliest, latest: c.window.latest},
    windowAfter: {earliest: after.earliest, latest: after.latest},
  }
}

function idTime(id: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id)
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined
}

/**
 * With --delete-versions: every version (and delete marker) of the keys deleted now, and of keys
 * under the location that are already deleted (their newest version is a delete marker). A key
 * that is current keeps its history.
 */
function purgeable(versions: VersionEntry[], deletedNow: Set<string>): {delete: ObjectRef[]; deleteBytes: number} {
  const gone = new Set(versions.filter((v) => v.isLatest && v.deleteMarker).map((v) => v.key))
  const out = versions.filter((v) => deletedNow.has(v.key) || gone.has(v.key))
  return {delete: out.map((v) => ({key: v.key, versionId: v.versionId})), deleteBytes: out.reduce((n, v) => n + (v.size ?? 0), 0)}
}

/** Storage under a location: current objects, and what noncurrent versions and delete markers still hold. */
export type StorageUsed = {backupsBytes: number; backups: number; walBytes: number; walFiles: number; divergedBytes: number; incompleteBytes: number
  noncurrentBytes?: number; noncurrentVersions?: number; deleteMarkers?: number}

export function storageUsed(c: Catalog, loc: BackupLocation, versions?: VersionEntry[]): StorageUsed {
  const sum = (xs: ListedObject[]) => xs.reduce((n, o) => n + o.size, 0)
  const complete = new Set(c.backups.map((b) => b.id))
  const idOf = (key: string) => key.slice(basePrefix(loc).length).split('/')[0]!
  const nonc = versions?.filter((v) => !v.isLatest && !v.deleteMarker)
  return {
    backupsBytes: sum(c.objects.filter((o) => complete.has(idOf(o.key)))), backups: c.backups.length,
    walBytes: c.wal.reduce((n, w) => n + (w.size ?? 0), 0), walFiles: c.wal.length,
    divergedBytes: sum(c.diverged), incompleteBytes: sum(c.objects.filter((o) => !complete.has(idOf(o.key)))),
    ...(versions ? {noncurrentBytes: nonc!.reduce((n, v) => n + (v.size ?? 0), 0), noncurrentVersions: nonc!.length, deleteMarkers: versions.filter((v) => v.deleteMarker).length} : {}),
  }
}

const chunk = <T>(xs: T[], n: number): T[][] => Array.from({length: Math.ceil(xs.length / n)}, (_, i) => xs.slice(i * n, i * n + n))

export type PruneOptions = {s3: S3Where; env: {name: string; protected: boolean}; deleteVersions: boolean; lifecycleNote: string}

export function planPrune(d: PruneDecision, loc: BackupLocation, o: PruneOptions): Plan {
  // --delete-versions: each key's versions are deleted by id in its own step (a plain delete first
  // would add a delete marker that stays); the versions of keys deleted before go in a last step.
  const byKey = new Map<string, ObjectRef[]>()
  if (o.deleteVersions) for (const r of d.versions?.delete ?? []) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r])
  const used = new Set<string>()
  const refs = (xs: ObjectRef[]) => xs.flatMap((r) => {
    used.add(r.key)
    return byKey.get(r.key) ?? [r]
  })
  const del = (id: string, title: string, keys: ObjectRef[], first: ObjectRef[] = []): Step => ({id, title, risk: 'destructive',
    op: {kind: 's3.delete-objects', s3: o.s3, bucket: loc.bucket, batches: [refs(first), ...chunk(refs(keys), 1000)].filter((x) => x.length)}})
  const steps: Step[] = []
  if (d.walFrom && (d.wal.delete.length || d.diverged.delete.length)) {
    const marker: RetentionMarker = {walFrom: d.walFrom, prunedAt: d.at, backupsKept: d.keep.map((k) => k.id)}
    steps.push({id: 'retention-marker', title: `record that WAL before ${d.walFrom} is pruned by policy (older windows end there, not at a gap)`, risk: 'write',
      op: {kind: 's3.put-json', s3: o.s3, bucket: loc.bucket, key: retentionKey(loc), body: marker}})
  }
  for (const b of d.drop) {
    const manifest = b.keys.filter((k) => k.endsWith('/manifest.json'))
    // the manifest first: from then on the backup no longer exists; an interruption leaves an incomplete one, removed next time
    steps.push(del(`drop-${b.id}`, `delete backup ${b.id} (finished ${b.finishedAt}, ${formatBytes(b.bytes)}): its manifest first, then the rest`,
      b.keys.filter((k) => !manifest.includes(k)).map((key) => ({key})), manifest.map((key) => ({key}))))
  }
  if (d.wal.delete.length) steps.push(del('wal', `delete ${d.wal.delete.length} WAL files before ${d.walFrom} (${d.wal.delete[0]} .. ${d.wal.delete.at(-1)}, ${formatBytes(d.wal.deleteBytes)}); ${d.wal.kept} kept, history files always`, d.wal.delete.map((n) => ({key: `${walPrefix(loc)}${n}`}))))
  if (d.diverged.delete.length) steps.push(del('diverged', `delete ${d.diverged.delete.length} diverged WAL copies before ${d.walFrom}`, d.diverged.delete.map((key) => ({key}))))
  for (const i of d.incomplete.delete) steps.push(del(`incomplete-${i.id}`, `delete incomplete backup ${i.id} (no manifest, older than the newest backup and a day)`, i.keys.map((key) => ({key}))))
  const earlier = o.deleteVersions ? [...new Set((d.versions?.delete ?? []).map((r) => r.key).filter((k) => !used.has(k)))].map((key) => ({key})) : []
  if (earlier.length) steps.push(del('versions', `delete every version and delete marker of ${earlier.length} object(s) deleted earlier, for good`, earlier))
  if (o.deleteVersions) for (const s of steps) if (s.op?.kind === 's3.delete-objects' && s.id !== 'versions') s.title += ' (every version, for good)'
  const w = (x: {earliest?: string; latest?: string}) => (x.earliest ? `${x.earliest} .. ${x.latest}` : 'none')
  return {
    command: 'backup prune', env: o.env.name, protected: o.env.protected,
    summary: `retention at ${d.at} (full backups ${d.policy.fullDays} days, WAL ${d.policy.walDays} days, at least ${d.policy.minBackups}): ${d.drop.length} backup(s) and ${d.wal.delete.length} WAL file(s) go; the restorable window becomes ${w(d.windowAfter)} (now ${w(d.windowBefore)})`,
    observed: {location: s3Url(loc, ''), anchor: d.anchor ?? null, walFrom: d.walFrom ?? null, kept: d.keep.map((k) => `${k.id}: ${k.why}`), versions: o.lifecycleNote},
    fingerprint: {backups: d.keep.length + d.drop.length, anchor: d.anchor ?? null, walFrom: d.walFrom ?? null, drop: d.drop.map((b) => b.id).join(',')},
    preconditions: [], steps,
    recovery: 'Re-run `vaultctl backup prune`: it plans again from what is left (a backup whose manifest went but not its tar is removed as incomplete).',
  }
}
