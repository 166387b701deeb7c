import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {refusal, usageError} from '../lib/errors.js'
import {setApplying} from '../lib/plan/apply-context.js'

export default class Apply extends BaseCommand<typeof Apply> {
  static override summary = 'Run a plan saved with --plan-out: exactly its operations, if nothing it depends on has changed'
  static override description = 'Observes again with the command and arguments the plan was made with, and refuses (exit 3) when the state it depends on changed (e.g. another leader), when it was made by another vaultctl version or for another environment; otherwise runs the saved steps with the usual confirmation rules (--yes, --confirm ENV) and prints what that command prints.'
  static override examples = ['<%= config.bin %> failover postgres --candidate pg-2 --plan-out switchover.json', '<%= config.bin %> plan show switchover.json', '<%= config.bin %> apply switchover.json --yes']
  static override enableJsonFlag = false
  static override args = {file: Args.string({description: 'the plan file', required: true})}
  static override flags = {json: Flags.boolean({description: 'print only the command\'s result as JSON', helpGroup: 'GLOBAL'})}

  async run(): Promise<void> {
    const {args} = await this.parse(Apply)
    const saved = await this.readPlanFile(args.file)
    if (saved.vaultctl !== this.config.version) {
      throw refusal('PLAN_VERSION', `${args.file} was made by vaultctl ${saved.vaultctl}; this is ${this.config.version}`, ['Make the plan again with this version.'])
    }
    if (this.flags.env && this.flags.env !== saved.env) {
      throw refusal('PLAN_ENVIRONMENT', `${args.file} was made for environment "${saved.env}", not "${this.flags.env}"`, [`Apply it to ${saved.env} (drop --env), or make a plan for ${this.flags.env}.`])
    }
    if (!this.config.findCommand(saved.commandId)) throw usageError('NOT_A_PLAN', `${args.file} names an unknown command ${saved.commandId}`)
    setApplying(saved)
    const pass = [
      '--env', saved.env,
      ...(this.flags.config ? ['--config', this.flags.config] : []),
      ...(this.flags.yes ? ['--yes'] : []),
      ...(this.flags.confirm ? ['--confirm', this.flags.confirm] : []),
      ...(this.flags.debug ? ['--debug'] : []),
      ...(this.flags['dry-run'] ? ['--dry-run'] : []),
      ...(this.flags.json ? ['--json'] : []),
    ]
    await this.config.runCommand(saved.commandId, [...saved.argv, ...pass])
  }
}
