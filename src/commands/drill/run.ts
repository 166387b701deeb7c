import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {VaultctlError, errorMessage} from '../../lib/errors.js'
import {durationFlag, intFlag} from '../../lib/flags.js'
import {formatDrill} from '../../lib/drill/format.js'
import {chooseScenarios, drillSecrets, historyDirOf, prepareDrill, type DrillRunSummary} from '../../lib/drill/run.js'
import type {DrillRecord} from '../../lib/drill/history.js'

export type DrillRunResult = DrillRunSummary

export default class DrillRun extends BaseCommand<typeof DrillRun> {
  static override summary = 'Rehearse a disaster scenario: inject the fault, recover, measure RTO and RPO as a client saw them, undo, check health, record'
  static override description = 'A probe writes (and reads back) a sequence number every 100 ms to PostgreSQL, Redis or S3 while the drill runs; RTO is the longest time it could not write or read (data scenarios: fault until the data is verified back), RPO the acknowledged writes that did not survive. Undo steps run even when the drill fails. Exit 1 when a target is missed. On a protected environment, --confirm ENV is required.'
  static override strict = false
  static override args = {scenario: Args.string({description: 'scenario(s): postgres-primary-loss, postgres-switchover, postgres-corruption, redis-master-loss, redis-cache-loss, s3-prefix-deletion, namespace-deletion, backup-validation'})}
  static override examples = [
    '<%= config.bin %> drill run postgres-primary-loss --dry-run',
    '<%= config.bin %> drill run redis-master-loss --signal SIGSTOP',
    '<%= config.bin %> drill run --schedule weekly --env staging --confirm staging --json',
  ]
  static override flags = {
    schedule: Flags.string({description: 'run every scenario the architecture tests this often (and more often) that the environment supports', options: ['daily', 'weekly', 'monthly']}),
    signal: Flags.string({description: 'redis-master-loss: SIGKILL (the node dies) or SIGSTOP (it hangs; SIGCONT undoes it)', options: ['SIGKILL', 'SIGSTOP'], default: 'SIGKILL'}),
    timeout: durationFlag({description: 'how long the recovery may take before the drill fails', default: '5m'}),
    'probe-interval': intFlag({description: 'ms between the probe\'s writes', default: 100, min: 20, max: 10_000}),
  }

  async run(): Promise<DrillRunResult> {
    const {argv} = await this.parse(DrillRun)
    const scenarios = chooseScenarios((argv as string[]).filter((a) => !a.startsWith('-')), this.flags.schedule)
    const r = this.environment()
    const childArgs = ['--env', r.name, ...(this.flags.config ? ['--config', this.flags.config] : [])]
    const confirmArgs = this.flags.confirm ? ['--confirm', this.flags.confirm] : []
    const result: DrillRunResult = {dryRun: Boolean(this.flags['dry-run'] || this.flags['plan-out']), env: r.name, met: true, drills: [], skipped: []}
    let exit = 0
    for (const id of scenarios) {
      let prepared
      try {
        prepared = await prepareDrill(id, r, historyDirOf(this.auditFile()), {signal: this.flags.signal as 'SIGKILL' | 'SIGSTOP', timeoutMs: this.flags.timeout * 1000,
          intervalMs: this.flags['probe-interval'], childArgs, confirmArgs}, Boolean(this.flags.schedule))
      } catch (error) {
        // Refused before anything ran (no base backup, no leader): one scenario says so; a schedule goes on with the next.
        if (scenarios.length === 1) throw error
        const e = error instanceof VaultctlError ? error : undefined
        result.drills.push({scenario: id, error: {code: e?.code ?? 'INTERNAL', message: errorMessage(error), ...(e?.suggestions.length ? {suggestions: e.suggestions} : {})}})
        this.note(`drill ${id} not run: ${errorMessage(error)}`)
        exit = Math.max(exit, e?.exit ?? 1)
        continue
      }
      if ('skip' in prepared) {
        result.skipped.push({scenario: id, reason: prepared.skip})
        this.note(`skipped ${id}: ${prepared.skip}`)
        continue
      }
      try {
        const ran = await this.runPlan(prepared.plan, {secrets: drillSecrets(r)})
        const run = String(prepared.plan.observed?.run)
        if (ran.dryRun) {
          result.drills.push({scenario: id, run, plan: ran.plan})
          continue
        }
        const rec = (ran.execution.steps.find((s) => s.id === 'record')?.result as {file?: string} | undefined)
        const full = rec?.file ? await readRecord(rec.file) : undefined
        result.drills.push({scenario: id, run, plan: ran.plan, execution: ran.execution, ...(full ? {record: full} : {})})
        if (full) this.out(formatDrill(full))
        if (full && !full.met) exit = Math.max(exit, 1)
      } catch (error) {
        // The drill's always-steps ran (undo, health, record): say what was measured, then go on.
        const e = error instanceof VaultctlError ? error : undefined
        const execution = (e?.details as DrillRunSummary['drills'][number]['execution'] | undefined)
        const file = (execution?.steps?.find((s) => s.id === 'record')?.result as {file?: string} | undefined)?.file
        const full = file ? await readRecord(file) : undefined
        result.drills.push({scenario: id, run: String(prepared.plan.observed?.run), error: {code: e?.code ?? 'INTERNAL', message: errorMessage(error), ...(e?.suggestions.length ? {suggestions: e.suggestions} : {})}, ...(execution ? {execution} : {}), ...(full ? {record: full} : {})})
        if (scenarios.length === 1 && !this.jsonEnabled()) throw error
        this.note(`drill ${id} failed: ${errorMessage(error)}`)
        exit = Math.max(exit, e?.exit ?? 1)
      }
    }
    result.met = result.drills.every((d) => !d.error && (d.record?.met ?? true))
    if (exit) process.exitCode = exit
    // A drill talks to servers it has just hung or killed: should a client library leave a timer behind
    // (seen with ioredis' cluster client), the drill must still end once its result is out (CronJobs wait
    // for the process). Unref'd: it fires only when something else would keep the process alive.
    setTimeout(() => process.exit(), 5000).unref()
    return result
  }
}

async function readRecord(file: string): Promise<DrillRecord | undefined> {
  const {readJsonFile} = await import('../../lib/clients/files.js')
  const {DrillRecordSchema} = await import('../../lib/drill/history.js')
  return readJsonFile(file, DrillRecordSchema) as DrillRecord | undefined
}
