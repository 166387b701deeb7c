// The drills' history: one JSON record per drill under <audit dir>/drills/<env>/<scenario>/, and
// the report built from it (latest figures against the targets, the trend, an HTML chart each).
import {join} from 'node:path'
import {z} from 'zod'
import type {Phases, TargetMeasure} from './measure.js'
import {SCENARIOS, SCENARIO_INFO, type ScenarioId} from './scenarios.js'

export type DrillRecord = {
  v: 1
  run: string
  scenario: string
  env: string
  /** the fault's instant */
  at: string
  finishedAt: string
  targets: {rpoSeconds: number; rtoSeconds: number}
  rtoSeconds: number | null
  rpoSeconds: number | null
  lostWrites: number
  how: string
  rpoMet: boolean
  rtoMet: boolean
  met: boolean
  missed: string[]
  phases: Phases
  marks: Record<string, string>
  measures: TargetMeasure[]
  /** failed: a step of the drill failed (the undo, probe, health and record steps still ran) */
  status: 'completed' | 'failed'
  failedStep?: string
}

export const DrillRecordSchema = z.looseObject({
  v: z.literal(1), run: z.string(), scenario: z.string(), env: z.string(), at: z.string(), finishedAt: z.string(),
  targets: z.object({rpoSeconds: z.number(), rtoSeconds: z.number()}),
  rtoSeconds: z.number().nullable(), rpoSeconds: z.number().nullable(), lostWrites: z.number(), met: z.boolean(), missed: z.array(z.string()),
})

export const drillRecordFile = (dir: string, env: string, scenario: string, run: string) => join(dir, env, scenario, `${run}.json`)

export type ScenarioTrend = {
  scenario: ScenarioId
  title: string
  targets: {rpoSeconds: number; rtoSeconds: number}
  drills: number
  latest?: {run: string; at: string; rtoSeconds: number | null; rpoSeconds: number | null; lostWrites: number; met: boolean; missed: string[]}
  /** the earlier drills' median RTO, for the trend */
  medianRtoSeconds?: number
  /** latest RTO against that median: "better", "worse" (more than 20% slower), "same" */
  trend?: 'better' | 'worse' | 'same'
  history: {at: string; rtoSeconds: number | null; rpoSeconds: number | null; met: boolean}[]
}

export type DrillReport = {env: string; scenarios: ScenarioTrend[]; missed: string[]}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? undefined : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** The report, pure: records in, one trend per scenario out. `targets`: the environment's own. */
export function buildReport(env: string, records: DrillRecord[], targets: Record<ScenarioId, {rpoSeconds: number; rtoSeconds: number}>, only?: ScenarioId[]): DrillReport {
  const scenarios = SCENARIOS.filter((s) => !only?.length || only.includes(s)).map((id): ScenarioTrend => {
    const mine = records.filter((r) => r.scenario === id && r.env === env).sort((a, b) => a.at.localeCompare(b.at))
    const latest = mine.at(-1)
    const earlier = mine.slice(0, -1).map((r) => r.rtoSeconds).filter((x): x is number => x !== null)
    const med = median(earlier)
    const trend = latest?.rtoSeconds == null || med === undefined ? undefined : latest.rtoSeconds > med * 1.2 ? 'worse' : latest.rtoSeconds < med * 0.8 ? 'better' : 'same'
    return {
      scenario: id, title: SCENARIO_INFO[id].title, targets: targets[id], drills: mine.length,
      ...(latest ? {latest: {run: latest.run, at: latest.at, rtoSeconds: latest.rtoSeconds, rpoSeconds: latest.rpoSeconds, lostWrites: latest.lostWrites, met: latest.met, missed: latest.missed}} : {}),
      ...(med === undefined ? {} : {medianRtoSeconds: med}), ...(trend ? {trend} : {}),
      history: mine.map((r) => ({at: r.at, rtoSeconds: r.rtoSeconds, rpoSeconds: r.rpoSeconds, met: r.met})),
    }
  })
  const missed = scenarios.filter((s) => s.latest && !s.latest.met).map((s) => `${s.scenario}: ${s.latest!.missed.join('; ')}`)
  return {env, scenarios, missed}
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** One SVG chart: RTO of each drill (dots, red when a target was missed) and the target line. */
function chart(t: ScenarioTrend): string {
  const w = 560
  const h = 160
  const pad = 36
  const points = t.history.filter((x) => x.rtoSeconds !== null)
  if (points.length === 0) return '<p>No drill measured yet.</p>'
  const max = Math.max(t.targets.rtoSeconds, ...points.map((p) => p.rtoSeconds!)) * 1.1
  const x = (i: number) => pad + (points.length === 1 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (points.length - 1))
  const y = (v: number) => h - pad + 8 - (v / max) * (h - pad - 8)
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.rtoSeconds!).toFixed(1)}`).join(' ')
  const dots = points.map((p, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(p.rtoSeconds!).toFixed(1)}" r="4" fill="${p.met ? '#2e7d32' : '#c62828'}"><title>${esc(p.at)}: RTO ${p.rtoSeconds!.toFixed(1)} s, RPO ${p.rpoSeconds === null ? '?' : p.rpoSeconds.toFixed(1)} s</title></circle>`).join('')
  const ty = y(t.targets.rtoSeconds).toFixed(1)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="RTO per drill, ${esc(t.scenario)}">` +
    `<line x1="${pad}" y1="${ty}" x2="${w - pad}" y2="${ty}" stroke="#c62828" stroke-dasharray="4 3"/><text x="${w - pad}" y="${Number(ty) - 4}" font-size="11" text-anchor="end" fill="#c62828">target ${t.targets.rtoSeconds} s</text>` +
    `<line x1="${pad}" y1="${h - pad + 8}" x2="${w - pad}" y2="${h - pad + 8}" stroke="#999"/><text x="4" y="14" font-size="11">RTO (s)</text>` +
    `<path d="${line}" fill="none" stroke="#1565c0"/>${dots}</svg>`
}

const secs = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(1)} s`)

export function reportHtml(r: DrillReport): string {
  const sections = r.scenarios.map((t) => `<section><h2>${esc(t.scenario)}</h2><p>${esc(t.title)} — targets: RTO ${t.targets.rtoSeconds} s, RPO ${t.targets.rpoSeconds} s; ${t.drills} drill(s)` +
    `${t.latest ? `; latest ${esc(t.latest.at)}: RTO ${secs(t.latest.rtoSeconds)}, RPO ${secs(t.latest.rpoSeconds)}, ${t.latest.lostWrites} acknowledged write(s) lost — <b style="color:${t.latest.met ? '#2e7d32' : '#c62828'}">${t.latest.met ? 'met' : `MISSED: ${esc(t.latest.missed.join('; '))}`}</b>` : ''}</p>${chart(t)}</section>`).join('\n')
  return `<!doctype html><html><head><meta charset="utf-8"><title>vaultctl drills: ${esc(r.env)}</title><style>body{font-family:sans-serif;max-width:720px;margin:2em auto}section{margin-bottom:2em}</style></head>` +
    `<body><h1>DR drills: ${esc(r.env)}</h1>${r.missed.length ? `<p style="color:#c62828">Missed: ${esc(r.missed.join('; '))}</p>` : '<p>Every latest drill met its targets.</p>'}\n${sections}</body></html>\n`
}
