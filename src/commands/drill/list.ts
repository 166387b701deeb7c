import {BaseCommand} from '../../base-command.js'
import {table} from '../../lib/table.js'
import {SCENARIOS, SCENARIO_INFO, targetsOf, type Cadence, type ScenarioId} from '../../lib/drill/scenarios.js'
import {configuredFor} from '../../lib/drill/observe.js'
import {unsupported} from '../../lib/drill/plan.js'

export type DrillListResult = {env: string; scenarios: {id: ScenarioId; title: string; kind: string; tested: Cadence; recovery: string; fault: string; source: string; targets: {rpoSeconds: number; rtoSeconds: number}; runsHere: boolean; why?: string}[]}

export default class DrillList extends BaseCommand<typeof DrillList> {
  static override summary = 'The DR drill scenarios: each one\'s row of the architecture, its RPO/RTO targets (the environment\'s drills.targets over the architecture\'s) and how often it is tested'

  async run(): Promise<DrillListResult> {
    const r = this.environment()
    const targets = targetsOf(r.env)
    const here = configuredFor(r)
    const scenarios = SCENARIOS.map((id) => {
      const s = SCENARIO_INFO[id]
      const why = unsupported(id, here)
      return {id, title: s.title, kind: s.kind, tested: s.tested, recovery: s.recovery, fault: s.fault, source: s.source, targets: targets[id], runsHere: !why, ...(why ? {why} : {})}
    })
    this.out(table(['SCENARIO', 'RPO', 'RTO', 'TESTED', 'RECOVERY', `ON ${r.name.toUpperCase()}`, 'WHAT'], scenarios.map((s) => [s.id, `${s.targets.rpoSeconds} s`, `${s.targets.rtoSeconds} s`, s.tested, s.recovery,
      s.runsHere ? 'yes' : 'no', s.runsHere ? s.title : `${s.title} — not here: ${s.why}`])))
    return {env: r.name, scenarios}
  }
}
