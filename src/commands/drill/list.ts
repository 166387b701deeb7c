import {BaseCommand} from '../../base-command.js'
import {table} from '../../lib/table.js'
import {SCENARIOS, SCENARIO_INFO, targetsOf, type Cadence, type ScenarioId} from '../../lib/drill/scenarios.js'

export type DrillListResult = {env: string; scenarios: {id: ScenarioId; title: string; kind: string; tested: Cadence; recovery: string; fault: string; source: string; targets: {rpoSeconds: number; rtoSeconds: number}}[]}

export default class DrillList extends BaseCommand<typeof DrillList> {
  static override summary = 'The DR drill scenarios: each one\'s row of the architecture, its RPO/RTO targets (the environment\'s drills.targets over the architecture\'s) and how often it is tested'

  async run(): Promise<DrillListResult> {
    const {name, env} = this.environment()
    const targets = targetsOf(env)
    const scenarios = SCENARIOS.map((id) => {
      const s = SCENARIO_INFO[id]
      return {id, title: s.title, kind: s.kind, tested: s.tested, recovery: s.recovery, fault: s.fault, source: s.source, targets: targets[id]}
    })
    this.out(table(['SCENARIO', 'RPO', 'RTO', 'TESTED', 'RECOVERY', 'WHAT'], scenarios.map((s) => [s.id, `${s.targets.rpoSeconds} s`, `${s.targets.rtoSeconds} s`, s.tested, s.recovery, s.title])))
    return {env: name, scenarios}
  }
}
