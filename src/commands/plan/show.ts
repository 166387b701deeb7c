import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {formatPlan} from '../../lib/plan/print.js'
import type {SavedPlan} from '../../lib/plan/saved.js'

/** What --json prints. */
export type PlanShowResult = SavedPlan

export default class PlanShow extends BaseCommand<typeof PlanShow> {
  static override summary = 'Print a plan saved with --plan-out: what it would do, step by step, and what it was made from'
  static override examples = ['<%= config.bin %> plan show switchover.json', '<%= config.bin %> plan show switchover.json --json']
  static override args = {file: Args.string({description: 'the plan file', required: true})}

  async run(): Promise<PlanShowResult> {
    const {args} = await this.parse(PlanShow)
    const saved = await this.readPlanFile(args.file)
    this.out([`Saved plan ${args.file}: made ${saved.createdAt} by vaultctl ${saved.vaultctl} for environment ${saved.env}`,
      `Command: vaultctl ${saved.commandId.replaceAll(':', ' ')} ${saved.argv.join(' ')}`.trimEnd(),
      ...(saved.state ? [`Made from: ${JSON.stringify(saved.state)}`] : []),
      saved.plan.typed ? 'Every step is a typed operation: `vaultctl apply` runs exactly these.' : 'Some steps are not typed operations yet: `vaultctl apply` runs the plan only if a fresh one is identical.',
      '', formatPlan(saved.plan)].join('\n'))
    return saved
  }
}
