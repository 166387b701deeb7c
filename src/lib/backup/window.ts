// The restorable window: from each base backup's end, as far as the archived WAL continues
// without a gap along the latest timeline's history. Pure: unit-tested on constructed archives.
import type {BackupManifest} from './base.js'
import {parseLsn, parseSegmentName, segmentName, segnoOf, SEGMENT_SIZE, formatLsn} from './layout.js'

export type WalObject = {name: string; lastModified: Date}
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
  to: string // ISO: archive time of the last WAL segment reachable without a gap
  fromLsn: string
  toLsn: string
  lastSegment: string
  /** The first missing segment after which more WAL exists (a gap), if any. */
  gapAt?: string
}

export type Window = {earliest?: string; latest?: string; targetTimeline: number; backups: BackupWindow[]; gaps: string[]}

/** Which timeline holds segment `segno` when recovering along `history` to its timeline. */
export function timelineFor(segno: number, history: History): number {
  for (const p of history.parents) if (segno < segnoOf(p.switchLsn)) return p.tli
  return history.tli
}

export function computeWindow(backups: BackupManifest[], wal: WalObject[], histories: History[]): Window {
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
    const first = segnoOf(parseLsn(b.endLsn))
    let s = first
    let last: WalObject | undefined
    while (s <= maxSegno) {
      const seg = segs.get(segmentName(timelineFor(s, history), s))
      if (!seg) break
      last = seg
      s++
    }
    if (!last) continue // not restorable yet: the segment holding the backup's end is not archived
    const gapAt = s <= maxSegno ? segmentName(timelineFor(s, history), s) : undefined
    if (gapAt) gaps.add(gapAt)
    windows.push({backup: b.id, timeline: b.timeline, from: b.finishedAt, to: last.lastModified.toISOString(), fromLsn: b.endLsn,
      toLsn: formatLsn((s) * SEGMENT_SIZE - 1), lastSegment: segmentName(timelineFor(s - 1, history), s - 1), ...(gapAt ? {gapAt} : {})})
  }
  const froms = windows.map((w) => w.from).sort()
  const tos = windows.map((w) => w.to).sort()
  return {earliest: froms[0], latest: tos.at(-1), targetTimeline: latest.tli, backups: windows, gaps: [...gaps]}
}

/** The newest backup whose window contains `t`, or undefined. */
export function backupFor(w: Window, t: Date): BackupWindow | undefined {
  return [...w.backups].reverse().find((b) => new Date(b.from) < t && new Date(b.to) >= t)
}

export function describeWindow(w: Window): string {
  if (w.backups.length === 0) return 'nothing is restorable yet (no base backup with its WAL archived)'
  return w.backups.map((b) => `[${b.from} .. ${b.to}] from backup ${b.backup}${b.gapAt ? ` (WAL gap at ${b.gapAt})` : ''}`).join('; ')
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
