// The restorable window: from each base backup's end, as far as the archived WAL continues
// without a gap along the latest timeline's history. Pure: unit-tested on constructed archives.
import type {BackupManifest} from './base.js'
import {parseLsn, parseSegmentName, segmentName, segnoOf, SEGMENT_SIZE, formatLsn} from './layout.js'

export type WalObject = {name: string; lastModified: Date; size?: number}
/** A timeline's history file: its ancestors with the LSN where each was left. */
export type History = {tli: number; parents: {tli: number; switchLsn: number}[]}

export function parseHistory(tli: number, text: string): History {
  const parents = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const [p, lsn] = l.split(/\s+/)
    return {tli: Number(p), switchLsn: parseLsn(lsn!)}
  })
  return {tli, parents}
}

export type BackupWindow = {
  backup: string
  timeline: number
  from: string // ISO: the backup's end
  /**
   * ISO: the last instant a --target-time restore accepts. Recovery stops before the first commit
   * after the target, so it must see one: this is just before the last archived commit (or, until
   * commit times are read, the archive time of the last segment).
   */
  to: string
  /** ISO: archive time of the last WAL segment reachable without a gap. */
  archivedUntil: string
  /** ISO: the last commit in the archived WAL on this window's recovery path (read with pg_waldump). */
  lastCommit?: string
  /** False when no transaction was committed after the backup: only --latest and --target-lsn can use it. */
  timeTargets: boolean
  fromLsn: string
  toLsn: string
  lastSegment: string
  /** The first missing segment after which more WAL exists (a gap), if any. */
  gapAt?: string
  /** The first missing segment, when `backup prune` removed it by the retention policy (not a gap: the window ends there on purpose). */
  prunedAt?: string
}

export type Window = {
  earliest?: string
  latest?: string
  targetTimeline: number
  backups: BackupWindow[]
  gaps: string[]
  /** 'commits': window ends are the last archived commits, as restore checks them; 'archive-times': the last segments' archive times (an upper bound). */
  ends: 'commits' | 'archive-times'
}

/**
 * Which timeline holds segment `segno` when recovering along `history` to its timeline: as
 * PostgreSQL picks it (XLogFileReadAnyTLI), the newest timeline that began at or before the
 * segment. Each timeline begins where the history says its predecessor was left. A history need
 * not be monotonic: a restore that stopped on an ancestor before its target timeline's own fork
 * writes "3 0/80008C0" after "2 0/D0000A0" (timeline 3 is then never read).
 */
export function timelineFor(segno: number, history: History): number {
  const begins = [...history.parents.map((p, i) => ({tli: p.tli, begin: i === 0 ? 0 : history.parents[i - 1]!.switchLsn})),
    {tli: history.tli, begin: history.parents.at(-1)?.switchLsn ?? 0}]
  return begins.reverse().find((e) => segnoOf(e.begin) <= segno)?.tli ?? history.tli
}

/**
 * `walFrom`: the first segment number `backup prune` kept (its retention marker); a missing segment
 * before it ends an older backup's window as pruned, not as a gap.
 */
export function computeWindow(backups: BackupManifest[], wal: WalObject[], histories: History[], walFrom?: number): Window {
  const segs = new Map<string, WalObject>()
  let maxTli = 1
  for (const w of wal) {
    const p = parseSegmentName(w.name)
    if (p) {
      segs.set(w.name, w)
      maxTli = Math.max(maxTli, p.timeline)
    }
  }
  for (const h of histories) maxTli = Math.max(maxTli, h.tli)
  for (const b of backups) maxTli = Math.max(maxTli, b.timeline)
  const latest = histories.find((h) => h.tli === maxTli) ?? {tli: maxTli, parents: []}
  const parsed = [...segs.keys()].map((n) => parseSegmentName(n)!)
  const windows: BackupWindow[] = []
  const gaps = new Set<string>()
  for (const b of [...backups].sort((x, y) => x.finishedAt.localeCompare(y.finishedAt))) {
    // Recover along the latest timeline if the backup lies on its history, else along its own.
    const onChain = b.timeline === latest.tli || latest.parents.some((p) => p.tli === b.timeline)
    const history = onChain ? latest : {tli: b.timeline, parents: []}
    // Only segments on this recovery path count: strays from abandoned timelines are not gaps.
    const maxSegno = Math.max(-1, ...parsed.filter((p) => timelineFor(p.segno, history) === p.timeline).map((p) => p.segno))
    // The segment holding the backup's last byte: an end exactly on a segment boundary (a replica
    // that had just replayed a WAL switch) needs the segment before, not the next (unwritten) one.
    const first = segnoOf(parseLsn(b.endLsn) - 1)
    let s = first
    let last: WalObject | undefined
    while (s <= maxSegno) {
      const seg = segs.get(segmentName(timelineFor(s, history), s))
      if (!seg) break
      last = seg
      s++
    }
    if (!last) continue // not restorable yet: the segment holding the backup's end is not archived
    const missing = s <= maxSegno ? segmentName(timelineFor(s, history), s) : undefined
    const pruned = missing !== undefined && walFrom !== undefined && s < walFrom
    const gapAt = pruned ? undefined : missing
    if (gapAt) gaps.add(gapAt)
    const archivedUntil = last.lastModified.toISOString()
    windows.push({backup: b.id, timeline: b.timeline, from: b.finishedAt, to: archivedUntil, archivedUntil, timeTargets: archivedUntil >= b.finishedAt, fromLsn: b.endLsn,
      toLsn: formatLsn((s) * SEGMENT_SIZE - 1), lastSegment: segmentName(timelineFor(s - 1, history), s - 1), ...(gapAt ? {gapAt} : {}), ...(pruned ? {prunedAt: missing} : {})})
  }
  return summarise(windows, latest.tli, [...gaps], 'archive-times')
}

function summarise(windows: BackupWindow[], targetTimeline: number, gaps: string[], ends: Window['ends']): Window {
  const timed = windows.filter((w) => w.timeTargets)
  return {earliest: timed.map((w) => w.from).sort()[0], latest: timed.map((w) => w.to).sort().at(-1), targetTimeline, backups: windows, gaps, ends}
}

/**
 * The window restore accepts: each backup's end moved to just before the last archived commit on
 * its recovery path (`lastCommitOf(window)`, undefined when there is none after the backup). A
 * target at that instant is restorable; a later one is refused, since recovery could not stop there.
 */
export function withCommitTimes(w: Window, lastCommitOf: (b: BackupWindow) => Date | undefined): Window {
  const windows = w.backups.map((b) => {
    const commit = lastCommitOf(b)
    const to = commit ? new Date(commit.getTime() - 1) : undefined
    const timeTargets = Boolean(to && to >= new Date(b.from))
    return {...b, ...(commit ? {lastCommit: commit.toISOString()} : {}), to: timeTargets ? to!.toISOString() : b.from, timeTargets}
  })
  return summarise(windows, w.targetTimeline, w.gaps, 'commits')
}

/** The newest backup whose window contains `t` (both ends included), or undefined. */
export function backupFor(w: Window, t: Date): BackupWindow | undefined {
  return [...w.backups].reverse().find((b) => b.timeTargets && new Date(b.from) <= t && new Date(b.to) >= t)
}

export function describeWindow(w: Window): string {
  if (w.backups.length === 0) return 'nothing is restorable yet (no base backup with its WAL archived)'
  return w.backups.map((b) => `${b.timeTargets ? `[${b.from} .. ${b.to}]` : `[--latest or --target-lsn only: no commit archived after ${b.from}]`} from backup ${b.backup}${b.gapAt ? ` (WAL gap at ${b.gapAt})` : ''}${b.prunedAt ? ` (WAL from ${b.prunedAt} on pruned by retention)` : ''}`).join('; ')
}

/** The WAL file names recovery from `startLsn` reads along the window's recovery path, in order. */
export function chainSegments(w: Window, histories: History[], b: BackupWindow, startLsn: string): string[] {
  const latest = histories.find((h) => h.tli === w.targetTimeline) ?? {tli: w.targetTimeline, parents: []}
  const onChain = b.timeline === latest.tli || latest.parents.some((p) => p.tli === b.timeline)
  const history = onChain ? latest : {tli: b.timeline, parents: []}
  const last = parseSegmentName(b.lastSegment)!.segno
  const out: string[] = []
  for (let s = segnoOf(parseLsn(startLsn)); s <= last; s++) out.push(segmentName(timelineFor(s, history), s))
  return out
}

/** The newest timeline's history: the path every restore follows (recovery_target_timeline = latest). */
export function latestHistory(histories: History[]): History {
  return [...histories].sort((a, b) => b.tli - a.tli)[0] ?? {tli: 1, parents: []}
}

/**
 * Is WAL file `name` part of the restorable history, i.e. would a restore along `latest` read it?
 * Segments of a timeline after the point where a newer timeline left it (and of timelines that
 * are no ancestor at all) belong to an abandoned history; so do `.partial` and `.backup` files,
 * which recovery never reads. History files always count. A segment of a timeline newer than
 * `latest` is assumed live: nothing is known against it.
 */
export function onRestorablePath(name: string, latest: History): boolean {
  if (/^[0-9A-F]{8}\.history$/.test(name)) return true
  const seg = parseSegmentName(name)
  if (!seg) return false
  if (seg.timeline > latest.tli) return true
  return timelineFor(seg.segno, latest) === seg.timeline
}
