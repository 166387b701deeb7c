// What a client saw during a drill, from the probe's record of every attempt: the longest time
// without a successful write (and read), the acknowledged writes that did not survive, and the
// phases between fault, detection, decision and recovery. Pure: the probe records, this judges.
import type {ScenarioKind} from './scenarios.js'

export type ProbeTarget = 'postgres' | 'redis' | 's3'

/** One attempt of the probe: a write of sequence number `seq`, or a read of the newest one. */
export type Attempt = {target: ProbeTarget; op: 'write' | 'read'; seq: number; startedAt: number; endedAt: number; ok: boolean; error?: string}

export type Outage = {
  /** the longest time between two successful attempts, in ms (a healthy probe: about its interval) */
  longestGapMs: number
  /** that gap: from the last success before to the first success after (absent when none failed) */
  from?: string
  to?: string
  failed: number
  attempts: number
  /** the probe still failed when it stopped */
  unrecovered: boolean
}

export type Loss = {
  acknowledged: number
  survived: number
  /** acknowledged before the recovery's own rewind point, and gone: data lost */
  lost: number[]
  /** acknowledged after the point a restore deliberately went back to (PITR to before the fault) */
  rewound: number[]
  /** ms from the earliest lost acknowledgement to the fault (0 when nothing was lost) */
  spanMs: number
}

export type TargetMeasure = {target: ProbeTarget; writes: Outage; reads: Outage; loss?: Loss}

export function outage(attempts: Attempt[], op: 'write' | 'read', startedAt: number, stoppedAt: number): Outage {
  const mine = attempts.filter((a) => a.op === op).sort((a, b) => a.startedAt - b.startedAt)
  const oks = mine.filter((a) => a.ok).map((a) => a.endedAt)
  // Bounded by the probe's own start and stop: a target that never answered is out the whole time.
  const edges = [startedAt, ...oks, stoppedAt]
  let best = 0
  let at = 0
  for (let i = 1; i < edges.length; i++) {
    const gap = edges[i]! - edges[i - 1]!
    if (gap > best) {
      best = gap
      at = i
    }
  }
  const failed = mine.filter((a) => !a.ok).length
  const lastOk = oks.at(-1)
  const unrecovered = mine.length > 0 && !mine.at(-1)!.ok
  return {longestGapMs: Math.max(0, best), ...(failed > 0 ? {from: new Date(edges[at - 1]!).toISOString(), to: new Date(edges[at]!).toISOString()} : {}),
    failed, attempts: mine.length, unrecovered: unrecovered || (mine.length > 0 && lastOk === undefined)}
}

/**
 * Which acknowledged writes survived. `rewindTo`: the instant a restore went back to on purpose;
 * writes acknowledged after it are "rewound", not lost.
 */
export function loss(attempts: Attempt[], survived: Set<number>, faultAt: number, rewindTo?: number): Loss {
  const acked = attempts.filter((a) => a.op === 'write' && a.ok)
  const gone = acked.filter((a) => !survived.has(a.seq))
  const rewound = rewindTo === undefined ? [] : gone.filter((a) => a.endedAt > rewindTo)
  const lost = gone.filter((a) => !rewound.includes(a))
  const earliest = Math.min(...lost.map((a) => a.endedAt))
  const reference = Math.max(faultAt, ...lost.map((a) => a.endedAt))
  return {acknowledged: acked.length, survived: acked.length - gone.length, lost: lost.map((a) => a.seq), rewound: rewound.map((a) => a.seq),
    spanMs: lost.length ? Math.max(1, reference - earliest) : 0}
}

export type Marks = {faultAt?: number; detectedAt?: number; recoveryStartedAt?: number; recoveredAt?: number; verifiedAt?: number}

export type Phases = {detectionMs?: number; decisionMs?: number; recoveryMs?: number}

export function phases(m: Marks): Phases {
  const d = (a?: number, b?: number) => (a !== undefined && b !== undefined ? Math.max(0, b - a) : undefined)
  const out: Phases = {}
  const detection = d(m.faultAt, m.detectedAt)
  const decision = d(m.detectedAt, m.recoveryStartedAt)
  const recovery = d(m.recoveryStartedAt, m.recoveredAt)
  if (detection !== undefined) out.detectionMs = detection
  if (decision !== undefined) out.decisionMs = decision
  if (recovery !== undefined) out.recoveryMs = recovery
  return out
}

export type Figures = {rtoSeconds: number | null; rpoSeconds: number | null; lostWrites: number; how: string}

/**
 * The drill's RTO and RPO. Availability: RTO is the longest write (or read) outage any probe saw.
 * Data: RTO runs from the fault until the data was verified back. RPO: the span of acknowledged
 * writes lost (a restore's deliberate rewind excluded), or what the scenario measured itself.
 */
export function figures(kind: ScenarioKind, measures: TargetMeasure[], m: Marks, measured?: {rpoSeconds?: number; rtoSeconds?: number}): Figures {
  const lostWrites = measures.reduce((n, t) => n + (t.loss?.lost.length ?? 0), 0)
  const span = Math.max(0, ...measures.map((t) => t.loss?.spanMs ?? 0))
  const probed = measures.some((t) => t.loss)
  const rpoSeconds = measured?.rpoSeconds ?? (probed ? span / 1000 : null)
  if (kind === 'availability') {
    const gaps = measures.flatMap((t) => [t.writes, t.reads])
    const unrecovered = gaps.some((g) => g.unrecovered)
    const longest = Math.max(0, ...gaps.map((g) => g.longestGapMs))
    return {rtoSeconds: unrecovered ? null : measured?.rtoSeconds ?? longest / 1000, rpoSeconds, lostWrites,
      how: unrecovered ? 'the probe never saw the service come back' : 'RTO: the longest time the probe could not write or read; RPO: acknowledged writes that did not survive'}
  }
  const rto = measured?.rtoSeconds ?? (m.faultAt !== undefined && m.verifiedAt !== undefined ? (m.verifiedAt - m.faultAt) / 1000 : null)
  return {rtoSeconds: rto, rpoSeconds, lostWrites, how: 'RTO: from the fault until the data was verified back; RPO: acknowledged writes from before the fault that did not come back'}
}

export type Verdict = {rpoMet: boolean; rtoMet: boolean; met: boolean; missed: string[]}

export function verdict(f: Figures, targets: {rpoSeconds: number; rtoSeconds: number}): Verdict {
  const missed: string[] = []
  const rtoMet = f.rtoSeconds !== null && f.rtoSeconds <= targets.rtoSeconds
  const rpoMet = f.rpoSeconds !== null && f.rpoSeconds <= targets.rpoSeconds
  if (!rtoMet) missed.push(f.rtoSeconds === null ? `RTO not measured (target ${targets.rtoSeconds} s)` : `RTO ${f.rtoSeconds.toFixed(1)} s > target ${targets.rtoSeconds} s`)
  if (!rpoMet) missed.push(f.rpoSeconds === null ? `RPO not measured (target ${targets.rpoSeconds} s)` : `RPO ${f.rpoSeconds.toFixed(1)} s > target ${targets.rpoSeconds} s`)
  return {rpoMet, rtoMet, met: missed.length === 0, missed}
}
