import {instantFlag, intFlag} from '../../lib/flags.js'
import {BaseCommand} from '../../base-command.js'
import {fleet, generateOpenMetrics} from '../../lib/lab/metrics.js'

export default class LabMetrics extends BaseCommand<typeof LabMetrics> {
  static override summary = 'Print the lab\'s deterministic container CPU/memory metrics (OpenMetrics text, for promtool backfill)'
  static override enableJsonFlag = false
  static override flags = {
    end: instantFlag({description: 'last sample time, ISO 8601 with offset (default: the last full hour)'}),
    days: intFlag({description: 'days of history', default: 7, min: 1, max: 366}),
    step: intFlag({description: 'seconds between samples', default: 300, min: 1, max: 86_400}),
    seed: intFlag({description: 'generator seed', default: 42, min: 0}),
    workloads: intFlag({description: 'a synthetic fleet of this many workloads (one pod each, the vault\'s patterns repeated) instead of the vault\'s own (0)', default: 0, min: 0, max: 100_000}),
    'slow-step': intFlag({description: 'seconds between samples of the series that hardly change (requests, limits, owners...; default: --step)', default: 0, min: 0, max: 86_400}),
  }

  async run(): Promise<void> {
    const end = this.flags.end ?? new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000)
    const f = this.flags
    for (const line of generateOpenMetrics({end, days: f.days, stepSeconds: f.step, seed: f.seed, ...(f.workloads ? {workloads: fleet(f.workloads)} : {}), ...(f['slow-step'] ? {slowStepSeconds: f['slow-step']} : {})})) {
      if (!process.stdout.write(line + '\n')) await new Promise((r) => process.stdout.once('drain', r))
    }
  }
}
