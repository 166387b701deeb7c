import {describe, expect, it} from 'vitest'
import type {BackupManifest} from '../../src/lib/backup/base.js'
import {parseBaseBackupLog} from '../../src/lib/backup/base.js'
import {formatLsn, parseLsn, parseSegmentName, segmentName} from '../../src/lib/backup/layout.js'
import {backupFor, computeWindow, describeWindow, latestHistory, onRestorablePath, parseHistory, timelineFor, withCommitTimes, type WalObject} from '../../src/lib/backup/window.js'

const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 12, 0, s))
const backup = (id: string, tl: number, endLsn: string, finished: number): BackupManifest => ({
  id, cluster: 'c', source: {member: 'pg-2', role: 'replica', host: 'h', port: 1}, startedAt: at(finished - 1).toISOString(), finishedAt: at(finished).toISOString(),
  timeline: tl, startLsn: endLsn, endLsn, bytes: 1, sha256: 'x', key: 'k', format: 'tar', wal: 'included'})
const seg = (tl: number, segno: number, s: number): WalObject => ({name: segmentName(tl, segno), lastModified: at(s)})

describe('WAL names and LSNs', () => {
  it('round-trips segment names and LSNs', () => {
    expect(segmentName(17, 0x1e)).toBe('00000011000000000000001E')
    expect(parseSegmentName('0000000200000001000000FF')).toEqual({timeline: 2, segno: 0x1ff})
    expect(segmentName(2, 0x1ff)).toBe('0000000200000001000000FF')
    expect(parseLsn('0/1E000060')).toBe(0x1e000060)
    expect(formatLsn(parseLsn('1/A0000028'))).toBe('1/A0000028')
  })
  it('reads start/end LSN and timeline from pg_basebackup --verbose', () => {
    const log = 'pg_basebackup: initiating base backup, waiting for checkpoint to complete\npg_basebackup: checkpoint completed\npg_basebackup: write-ahead log start point: 0/1C000028 on timeline 17\npg_basebackup: write-ahead log end point: 0/1E000060\npg_basebackup: base backup completed\n'
    expect(parseBaseBackupLog(log)).toEqual({startLsn: '0/1C000028', timeline: 17, endLsn: '0/1E000060'})
  })
})

describe('restorable window', () => {
  it('runs from a backup to the last contiguous segment', () => {
    const w = computeWindow([backup('b1', 1, '0/3000060', 10)], [seg(1, 3, 11), seg(1, 4, 20), seg(1, 5, 30)], [])
    expect(w.earliest).toBe(at(10).toISOString())
    expect(w.latest).toBe(at(30).toISOString())
    expect(w.gaps).toEqual([])
    expect(backupFor(w, at(25))?.backup).toBe('b1')
    expect(backupFor(w, at(5))).toBeUndefined()
    expect(backupFor(w, at(31))).toBeUndefined()
  })
  it('stops at a gap and reports it', () => {
    const w = computeWindow([backup('b1', 1, '0/3000060', 10)], [seg(1, 3, 11), seg(1, 5, 30), seg(1, 6, 40)], [])
    expect(w.latest).toBe(at(11).toISOString())
    expect(w.gaps).toEqual([segmentName(1, 4)])
    expect(w.backups[0]?.gapAt).toBe(segmentName(1, 4))
  })
  it('follows timeline switches from the history file; strays of other timelines are no gap', () => {
    // timeline 2 branched from 1 at 0/5000100: segments < 5 on TL1, from 5 on TL2
    const h = parseHistory(2, '1\t0/5000100\tno recovery target specified\n')
    expect(timelineFor(4, h)).toBe(1)
    expect(timelineFor(5, h)).toBe(2)
    const wal = [seg(1, 3, 11), seg(1, 4, 12), seg(1, 5, 13), seg(2, 5, 14), seg(2, 6, 15), seg(1, 9, 16)]
    const w = computeWindow([backup('b1', 1, '0/3000060', 10)], wal, [h])
    expect(w.targetTimeline).toBe(2)
    expect(w.backups[0]?.lastSegment).toBe(segmentName(2, 6))
    expect(w.gaps).toEqual([])
  })
  it('reads a history that is not monotonic as PostgreSQL does (newest timeline that began at or before the segment)', () => {
    // Written by the lab after a restore into the cluster stopped on timeline 2 while following timeline 3.
    const h4 = parseHistory(4, '1\t0/80007D0\tbefore 2026-11-27 08:46:51.43955+00\n\n2\t0/D0000A0\tno recovery target specified\n\n3\t0/80008C0\tbefore 2026-11-27 08:47:02.440626+00\n')
    expect([7, 8, 9, 0xc, 0xd, 0xe].map((s) => timelineFor(s, h4))).toEqual([1, 4, 4, 4, 4, 4])
    const w = computeWindow([backup('b1', 1, '0/3000060', 10), backup('b4', 4, '0/B022DC0', 40)],
      [3, 4, 5, 6, 7].map((n) => seg(1, n, 10 + n)).concat([8, 9, 0xa, 0xb, 0xc].map((n) => seg(4, n, 30 + n)), [8, 9, 0xa, 0xb, 0xc, 0xd].map((n) => seg(2, n, 20 + n))),
      [parseHistory(2, '1\t0/80007D0\n'), parseHistory(3, '1\t0/80007D0\n2\t0/D0000A0\n'), h4])
    expect(w.targetTimeline).toBe(4)
    expect(w.backups.map((b) => [b.backup, b.lastSegment, b.gapAt])).toEqual([['b1', segmentName(4, 0xc), undefined], ['b4', segmentName(4, 0xc), undefined]])
    expect(onRestorablePath(segmentName(2, 9), h4)).toBe(false)
  })
  it('is empty until the segment holding the backup end is archived', () => {
    expect(computeWindow([backup('b1', 1, '0/3000060', 10)], [], []).backups).toEqual([])
  })
  it('prefers the newest backup whose window holds the target', () => {
    const w = computeWindow([backup('b1', 1, '0/3000060', 10), backup('b2', 1, '0/5000060', 20)], [seg(1, 3, 11), seg(1, 4, 15), seg(1, 5, 21), seg(1, 6, 30)], [])
    expect(backupFor(w, at(25))?.backup).toBe('b2')
    expect(backupFor(w, at(15))?.backup).toBe('b1')
  })
})

describe('the window restore accepts', () => {
  it('counts a backup that ended exactly on a segment boundary as restorable from the segment before', () => {
    // a replica that had just replayed a WAL switch ends its backup at 0/5000000: segment 5 holds nothing of it
    const w = computeWindow([backup('b1', 1, '0/5000000', 10)], [seg(1, 4, 11)], [])
    expect(w.backups.map((b) => b.lastSegment)).toEqual([segmentName(1, 4)])
  })
  it('ends each window just before its last archived commit, and includes both ends', () => {
    const w = computeWindow([backup('b1', 1, '0/3000060', 10)], [seg(1, 3, 11), seg(1, 4, 40)], [])
    expect(w.ends).toBe('archive-times')
    const c = withCommitTimes(w, () => new Date(at(30).getTime() + 500))
    expect(c.ends).toBe('commits')
    expect(c.backups[0]).toMatchObject({to: new Date(at(30).getTime() + 499).toISOString(), lastCommit: new Date(at(30).getTime() + 500).toISOString(), archivedUntil: at(40).toISOString(), timeTargets: true})
    expect(c.latest).toBe(c.backups[0]!.to)
    expect(backupFor(c, new Date(c.backups[0]!.to))?.backup).toBe('b1')
    expect(backupFor(c, new Date(new Date(c.backups[0]!.to).getTime() + 1000))).toBeUndefined()
    expect(backupFor(c, at(10))?.backup).toBe('b1') // the backup's end itself
  })
  it('offers no time targets from a backup with no commit after it (only --latest / --target-lsn)', () => {
    const w = withCommitTimes(computeWindow([backup('b1', 1, '0/3000060', 10)], [seg(1, 3, 11)], []), () => undefined)
    expect(w.backups[0]!.timeTargets).toBe(false)
    expect(w.earliest).toBeUndefined()
    expect(backupFor(w, at(10))).toBeUndefined()
    expect(describeWindow(w)).toMatch(/--latest or --target-lsn only/)
  })
})

describe('which WAL files are part of the restorable history', () => {
  // timeline 3 left 2 at 0/8058060 (segment 8); 2 left 1 at 0/60000A0 (segment 6): recorded in the lab
  const h3 = parseHistory(3, '1\t0/60000A0\tno recovery target specified\n\n2\t0/8058060\tno recovery target specified\n')
  it('keeps every segment on the newest timeline\'s path', () => {
    expect(onRestorablePath(segmentName(1, 5), h3)).toBe(true)
    expect(onRestorablePath(segmentName(2, 7), h3)).toBe(true)
    expect(onRestorablePath(segmentName(3, 8), h3)).toBe(true)
    expect(onRestorablePath('00000003.history', h3)).toBe(true)
    expect(onRestorablePath(segmentName(4, 2), h3)).toBe(true) // newer than anything known: assumed live
  })
  it('treats the old timeline\'s copy of a fork segment, and anything after it, as abandoned', () => {
    expect(onRestorablePath(segmentName(2, 8), h3)).toBe(false) // the lab's diverged 000000020000000000000008
    expect(onRestorablePath(segmentName(1, 6), h3)).toBe(false)
    expect(onRestorablePath(segmentName(2, 9), h3)).toBe(false)
    expect(onRestorablePath(`${segmentName(2, 8)}.partial`, h3)).toBe(false)
    expect(onRestorablePath(`${segmentName(1, 3)}.00000028.backup`, h3)).toBe(false)
  })
  it('takes the newest of several histories', () => {
    expect(latestHistory([parseHistory(2, '1\t0/60000A0\tx\n'), h3]).tli).toBe(3)
    expect(latestHistory([])).toEqual({tli: 1, parents: []})
  })
})
