// Which Patroni member of a stopped lab starts first. Started alone, a member takes the leader
// lock whatever its WAL position (the others are not there to compare with), and every member
// further ahead is then rewound. So the most advanced member (by timeline, then WAL position
// from pg_controldata) starts first and leads; Patroni compares positions itself once several run.
import {parseLsn} from '../backup/layout.js'

export type ControlData = Record<string, string>

export type MemberPosition = {member: number; timeline: number; lsn: number; wasPrimary: boolean}

export function memberPosition(member: number, c: ControlData): MemberPosition | undefined {
  const lsn = (k: string) => (c[k] && /^[0-9A-F]+\/[0-9A-F]+$/i.test(c[k]) ? parseLsn(c[k]) : 0)
  const tli = (k: string) => Number(c[k] ?? 0) || 0
  if (!c['Latest checkpoint location']) return undefined
  return {
    member,
    timeline: Math.max(tli("Latest checkpoint's TimeLineID"), tli("Min recovery ending loc's timeline")),
    lsn: Math.max(lsn('Latest checkpoint location'), lsn('Minimum recovery ending location')),
    wasPrimary: /^(shut down|in production)$/.test(c['Database cluster state'] ?? ''),
  }
}

/** Members in start order: most advanced first; members without readable control data keep their order, last. */
export function startOrder(members: number[], control: Map<number, ControlData | undefined>): number[] {
  const known = members.map((m) => ({m, p: control.get(m) ? memberPosition(m, control.get(m)!) : undefined}))
  const ranked = known.filter((k) => k.p).sort((a, b) => b.p!.timeline - a.p!.timeline || b.p!.lsn - a.p!.lsn || Number(b.p!.wasPrimary) - Number(a.p!.wasPrimary) || a.m - b.m)
  return [...ranked.map((k) => k.m), ...known.filter((k) => !k.p).map((k) => k.m)]
}
