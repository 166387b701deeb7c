import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../lib/errors.js'
import {table} from '../../lib/table.js'
import {buildReport, reportHtml, type DrillReport} from '../../lib/drill/history.js'
import {readDrillHistory} from '../../lib/drill/read-history.js'
import {historyDirOf} from '../../lib/drill/run.js'
import {isScenario, targetsOf, type ScenarioId} from '../../lib/drill/scenarios.js'

export type DrillReportResult = DrillReport & {historyDir: string; out?: string}

export default class DrillReportCommand extends BaseCommand<typeof DrillReportCommand> {
  static override summary = 'The drills\' history: each scenario\'s latest RTO/RPO against its target, and the trend against earlier drills; exit 1 when a latest drill missed a target'
  static override examples = ['<%= config.bin %> drill report', '<%= config.bin %> drill report --format html --out drills.html', '<%= config.bin %> drill report --scenario postgres-primary-loss --json']
  static override flags = {
    scenario: Flags.string({description: 'only this scenario (repeatable)', multiple: true}),
    format: Flags.string({description: 'table, or html (a chart of RTO per drill for each scenario)', options: ['table', 'html'], default: 'table'}),
    out: Flags.string({description: 'write the report to this file instead of stdout'}),
  }

  async run(): Promise<DrillReportResult> {
    const only = this.flags.scenario ?? []
    for (const s of only) if (!isScenario(s)) throw usageError('UNKNOWN_SCENARIO', `no drill scenario "${s}"`, ['`vaultctl drill list` names them.'])
    const {name, env} = this.environment()
    const dir = historyDirOf(this.auditFile())
    const report = buildReport(name, readDrillHistory(dir, name), targetsOf(env), only as ScenarioId[])
    const text = this.flags.format === 'html' ? reportHtml(report)
      : table(['SCENARIO', 'DRILLS', 'LATEST', 'RTO', 'TARGET', 'RPO', 'TARGET', 'LOST', 'TREND', 'MET'], report.scenarios.map((t) => [t.scenario, String(t.drills), t.latest?.at ?? '-',
        t.latest?.rtoSeconds == null ? '-' : `${t.latest.rtoSeconds.toFixed(1)} s`, `${t.targets.rtoSeconds} s`, t.latest?.rpoSeconds == null ? '-' : `${t.latest.rpoSeconds.toFixed(1)} s`, `${t.targets.rpoSeconds} s`,
        t.latest ? String(t.latest.lostWrites) : '-', t.trend ? `${t.trend} (median ${t.medianRtoSeconds!.toFixed(1)} s)` : '-', t.latest ? (t.latest.met ? 'yes' : 'NO') : '-']))
    if (this.flags.out) {
      const {writeText} = await import('../../lib/clients/files.js')
      writeText(this.flags.out, text)
      this.out(`Report written to ${this.flags.out}`)
    } else this.out(text)
    if (report.missed.length) process.exitCode = 1
    return {...report, historyDir: dir, ...(this.flags.out ? {out: this.flags.out} : {})}
  }
}
