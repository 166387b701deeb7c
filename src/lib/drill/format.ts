// A drill's record as the operator reads it after the run.
import {table} from '../table.js'
import type {DrillRecord} from './history.js'

const s = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(1)} s`)
const ms = (v: number | undefined) => (v === undefined ? '-' : `${(v / 1000).toFixed(1)} s`)

export function formatDrill(r: DrillRecord): string {
  const rows = [
    ['RTO', s(r.rtoSeconds), `${r.targets.rtoSeconds} s`, r.rtoMet ? 'met' : 'MISSED'],
    ['RPO', s(r.rpoSeconds), `${r.targets.rpoSeconds} s`, r.rpoMet ? 'met' : 'MISSED'],
  ]
  const probes = r.measures.map((m) => `${m.target}: longest write outage ${ms(m.writes.longestGapMs)}, read ${ms(m.reads.longestGapMs)}; ${m.loss ? `${m.loss.acknowledged} writes acknowledged, ${m.loss.lost.length} lost${m.loss.rewound.length ? `, ${m.loss.rewound.length} rewound by the restore (written after its target)` : ''}` : ''}`)
  return [
    `Drill ${r.scenario} on ${r.env} (${r.run}): ${r.met ? 'targets met' : `TARGET MISSED: ${r.missed.join('; ')}`}`,
    table(['', 'MEASURED', 'TARGET', ''], rows),
    `Phases: detection ${ms(r.phases.detectionMs)}, decision ${ms(r.phases.decisionMs)}, recovery ${ms(r.phases.recoveryMs)}`,
    ...probes.map((p) => `Probe ${p}`),
    r.how,
  ].join('\n')
}
