// backup prune's decisions on constructed archives: four timelines, backups on three of them, a
// restore to an earlier time that forked a timeline before the anchor. Checked against the rules:
// nothing a kept backup reads is deleted, the window from the anchor on is unchanged.
import {describe, expect, it} from 'vitest'
import type {BackupManifest} from '../../src/lib/backup/base.js'
import type {Catalog} from '../../src/lib/backup/catalog.js'
import {formatLsn, segmentName, SEGMENT_SIZE} from '../../src/lib/backup/layout.js'
import {decidePrune, planPrune, storageUsed} from '../../src/lib/backup/retention.js'
import {computeWindow, parseHistory, type WalObject} from '../../src/lib/backup/window.js'
import {planData} from '../../src/lib/plan/data.js'

const loc = {bucket: 'vault-backups', prefix: 'postgres/', cluster: 'c'}
const DAY = 86_400_000
const T0 = Date.parse('2026-10-01T00:00:00Z')
const day = (d: number) => new Date(T0 + d * DAY)
const id = (d: number) => day(d).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
const lsn = (segno: number, off = 0x28) => formatLsn(segno * SEGMENT_SIZE + off)

function backup(d: number, tl: number, startSeg: number): BackupManifest {
  return {id: id(d), cluster: 'c', source: {member: 'pg-2', role: 'replica', host: 'h', port: 1}, startedAt: day(d).toISOString(), finishedAt: new Date(day(d).getTime() + 60_000).toISOString(),
    timeline: tl, startLsn: lsn(startSeg), endLsn: lsn(startSeg + 1), bytes: 1000, sha256: 'a'.repeat(64), key: `postgres/c/base/${id(d)}/base.tar.zst`, format: 'tar', wal: 'included', compression: 'zstd'}
}

// tl1: 1..20 (day 0..); tl2 forks at 15 (day 8); tl3 forks from tl2 at 30 (day 18); tl4 forks from tl2 at 20 (a restore to day 9, done on day 24)
const histories = [parseHistory(2, `1\t${lsn(15, 0)}\tx`), parseHistory(3, `1\t${lsn(15, 0)}\tx\n2\t${lsn(30, 0)}\tx`), parseHistory(4, `1\t${lsn(15, 0)}\tx\n2\t${lsn(20, 0)}\tx`)]
function wal(): WalObject[] {
  const out: WalObject[] = []
  const seg = (tl: number, s: number, d: number) => out.push({name: segmentName(tl, s), lastModified: new Date(day(d).getTime() + s * 1000), size: 4 << 20})
  for (let s = 1; s <= 16; s++) seg(1, s, s / 2) // tl1 wrote 16 (partial, left at the fork)
  for (let s = 15; s <= 31; s++) seg(2, s, 8 + (s - 15) / 2)
  for (let s = 30; s <= 40; s++) seg(3, s, 18 + (s - 30) / 4)
  for (let s = 20; s <= 45; s++) seg(4, s, 24 + (s - 20) / 10)
  for (const h of [2, 3, 4]) out.push({name: `0000000${h}.history`, lastModified: day(0), size: 100})
  out.push({name: `${segmentName(1, 5)}.00000028.backup`, lastModified: day(1), size: 300})
  return out
}
function catalog(backups: BackupManifest[]): Catalog {
  const w = wal()
  const objects = backups.flatMap((b) => [{key: `postgres/c/base/${b.id}/base.tar.zst`, size: 1000}, {key: `postgres/c/base/${b.id}/manifest.json`, size: 500}])
  return {backups, incomplete: [], invalid: [], wal: w, histories, window: computeWindow(backups, w, histories), objects: [...objects, {key: `postgres/c/base/${id(2)}/base.tar.zst`, size: 7}],
    diverged: [{key: `postgres/c/wal-diverged/${segmentName(1, 16)}.0123456789abcdef`, size: 9}, {key: `postgres/c/wal-diverged/${segmentName(3, 33)}.0123456789abcdef`, size: 9}]}
}
const policy = {fullDays: 30, walDays: 7, minBackups: 1}

describe('backup prune decisions', () => {
  const b1 = backup(0.1, 1, 2), b2 = backup(9, 2, 18), b3 = backup(19, 3, 33), b4 = backup(25, 4, 22)
  const all = [b1, b2, b3, b4]

  it('anchors on the newest backup before now - walDays and keeps the WAL every later backup reads, on every timeline', () => {
    const c = {...catalog(all), incomplete: [id(2)]}
    const d = decidePrune(c, loc, policy, day(27)) // walCut day 20: anchor b3; b4 (tl4) starts at 22, lower than b3's 33
    expect(d.anchor).toBe(b3.id)
    expect(d.walFrom).toBe(segmentName(3, 22))
    expect(d.keep.map((k) => k.id)).toEqual(all.map((b) => b.id)) // all within 30 days
    const deleted = new Set(d.wal.delete)
    // b1 and b2 keep their own start..end; below 22 everything else goes, history files never
    expect([...deleted].every((n) => !n.endsWith('.history'))).toBe(true)
    for (const keep of [segmentName(1, 2), segmentName(1, 3), segmentName(2, 18), segmentName(2, 19), segmentName(4, 22), segmentName(2, 22), segmentName(3, 33)]) expect(deleted.has(keep), keep).toBe(false)
    for (const gone of [segmentName(1, 1), segmentName(1, 4), segmentName(1, 16), segmentName(2, 15), segmentName(2, 21), segmentName(4, 20), segmentName(4, 21), `${segmentName(1, 5)}.00000028.backup`]) expect(deleted.has(gone), gone).toBe(true)
    expect(d.diverged.delete).toEqual([`postgres/c/wal-diverged/${segmentName(1, 16)}.0123456789abcdef`])
    expect(d.incomplete.delete.map((i) => i.id)).toEqual([id(2)])
    // the window from the anchor on is what it was; the latest instant is unchanged
    expect(d.windowAfter.latest).toBe(d.windowBefore.latest)
    const after = computeWindow(all, c.wal.filter((w) => !deleted.has(w.name)), histories, 22)
    for (const b of [b3, b4]) expect(after.backups.find((w) => w.backup === b.id)).toEqual(c.window.backups.find((w) => w.backup === b.id))
    // an older kept backup's window ends where the WAL was pruned, reported as pruned, not as a gap
    expect(after.gaps).toEqual([])
    expect(after.backups.find((w) => w.backup === b1.id)?.prunedAt).toBe(segmentName(1, 4))
  })

  it('drops backups older than fullDays (manifest first), but never the anchor nor the newest minBackups', () => {
    const d = decidePrune(catalog(all), loc, {fullDays: 10, walDays: 7, minBackups: 1}, day(27))
    expect(d.drop.map((b) => b.id)).toEqual([b1.id, b2.id])
    const plan = planData(planPrune(d, loc, {s3: {region: 'us-east-1', forcePathStyle: true}, env: {name: 'lab', protected: false}, deleteVersions: false, lifecycleNote: ''}))
    const drop = plan.steps.find((s) => s.id === `drop-${b1.id}`)!
    expect(drop.risk).toBe('destructive')
    expect((drop.op as {batches: {key: string}[][]}).batches.map((b) => b.map((r) => r.key.split('/').at(-1)))).toEqual([['manifest.json'], ['base.tar.zst']])
    expect(drop.manual.split('\n')[0]).toBe(`aws s3api delete-objects --bucket vault-backups --delete '{"Objects":[{"Key":"postgres/c/base/${b1.id}/manifest.json"}],"Quiet":true}'`)
    expect(plan.steps[0]!.id).toBe('retention-marker')
    // everything is older than fullDays and walDays: the newest is kept by minBackups, and as the anchor
    const late = decidePrune(catalog(all), loc, {fullDays: 1, walDays: 1, minBackups: 2}, day(100))
    expect(late.keep.map((k) => k.id)).toEqual([b3.id, b4.id])
    expect(late.anchor).toBe(b4.id)
  })

  it('keeps all WAL from the oldest backup when none is older than walDays, and prunes nothing without backups', () => {
    const d = decidePrune(catalog(all), loc, policy, day(16)) // walCut day 9: only b1 finished before it
    expect(d.anchor).toBe(b1.id)
    expect(d.wal.delete).toEqual([segmentName(1, 1)])
    const none = decidePrune(catalog([]), loc, policy, day(26))
    expect(none.wal.delete).toEqual([])
    expect(planPrune(none, loc, {s3: {region: 'r', forcePathStyle: true}, env: {name: 'lab', protected: false}, deleteVersions: false, lifecycleNote: ''}).steps).toEqual([])
  })

  it('with versions: purges the history of what is deleted and of keys already deleted, never of live keys', () => {
    const v = (key: string, versionId: string, o: {latest?: boolean; marker?: boolean; size?: number} = {}) => ({key, versionId, isLatest: o.latest ?? false, deleteMarker: o.marker ?? false, lastModified: day(1).toISOString(), size: o.size ?? 10})
    const walKey = (n: string) => `postgres/c/wal/${n}`
    const versions = [v(walKey(segmentName(1, 1)), 'a', {latest: true}), v(walKey(segmentName(1, 2)), 'b', {latest: true}), v(walKey(segmentName(1, 2)), 'b0'),
      v('postgres/c/wal/old', 'm', {latest: true, marker: true}), v('postgres/c/wal/old', 'o', {size: 99})]
    const d = decidePrune(catalog(all), loc, policy, day(27), versions)
    expect(d.versions!.delete).toEqual([{key: walKey(segmentName(1, 1)), versionId: 'a'}, {key: 'postgres/c/wal/old', versionId: 'm'}, {key: 'postgres/c/wal/old', versionId: 'o'}])
    expect(storageUsed(catalog(all), loc, versions)).toMatchObject({backups: 4, backupsBytes: 6000, incompleteBytes: 7, noncurrentVersions: 2, noncurrentBytes: 109, deleteMarkers: 1})
  })
})

describe('backup prune --delete-versions plan', () => {
  it('deletes each pruned key by version id (no delete marker left behind), then the versions of keys deleted earlier', () => {
    const b1 = backup(0.1, 1, 2)
    const walKey = (n: string) => `postgres/c/wal/${n}`
    const v = (key: string, versionId: string, o: {latest?: boolean; marker?: boolean} = {}) => ({key, versionId, isLatest: o.latest ?? false, deleteMarker: o.marker ?? false, lastModified: day(1).toISOString(), size: 10})
    const versions = [v(walKey(segmentName(1, 1)), 'a', {latest: true}), v(walKey(segmentName(1, 1)), 'a0'), v('postgres/c/wal/old', 'm', {latest: true, marker: true}), v('postgres/c/wal/old', 'o')]
    const d = decidePrune(catalog([b1]), loc, policy, day(27), versions)
    const o = {s3: {region: 'r', forcePathStyle: true}, env: {name: 'lab', protected: false}, lifecycleNote: ''}
    const ops = (deleteVersions: boolean) => Object.fromEntries(planPrune(d, loc, {...o, deleteVersions}).steps.filter((s) => s.op?.kind === 's3.delete-objects').map((s) => [s.id, (s.op as {batches: {key: string; versionId?: string}[][]}).batches.flat()]))
    expect(ops(true).wal).toEqual([{key: walKey(segmentName(1, 1)), versionId: 'a'}, {key: walKey(segmentName(1, 1)), versionId: 'a0'}])
    expect(ops(true).versions).toEqual([{key: 'postgres/c/wal/old', versionId: 'm'}, {key: 'postgres/c/wal/old', versionId: 'o'}])
    expect(ops(false).wal).toEqual([{key: walKey(segmentName(1, 1))}])
    expect(ops(false).versions).toBeUndefined()
  })
})
