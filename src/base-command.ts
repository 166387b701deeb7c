// Everything every command shares, written once: global flags, config and environment, plan
// printing and execution, JSON results, and one error path with documented exit codes.
import {Command, Flags, type Interfaces} from '@oclif/core'
import chalk from 'chalk'
import {createRequire} from 'node:module'
import {loadConfig, resolveEnvironment, type ConfigParser, type LoadedConfig, type ResolvedEnvironment} from './lib/config/load.js'
import {redact} from './lib/config/secrets.js'
import {applyAccess} from './lib/config/access.js'
import {ExitCode, VaultctlError, fromSystemError, refusal, usageError} from './lib/errors.js'
import {unwrapFlagError} from './lib/flags.js'
import {defaultAuditFile, expandHome} from './lib/paths.js'
import type {ExecutionResult, Plan, PlanData, Step} from './lib/plan/types.js'
import {takeApplying} from './lib/plan/apply-context.js'
import type {SavedPlan} from './lib/plan/saved.js'
import type {AuditRecord} from './lib/plan/audit.js'
import {auditKey, auditS3Target} from './lib/audit/s3.js'
import {readFileSync} from 'node:fs'
import {writePrivate} from './lib/clients/files.js'
import {resolve} from 'node:path'
import type {OperationSecrets} from './lib/clients/operations.js'

/** The config parser (yaml + zod), loaded synchronously (require of an ES module) only when the
 *  config text is not in the cache of checked configs. */
const cachedParse: ConfigParser = Object.assign((text: string, file: string) =>
  (createRequire(import.meta.url)('./lib/config/parse.js') as typeof import('./lib/config/parse.js')).parseConfig(text, file), {cache: true})

export type PlanRunResult = {dryRun: true; plan: PlanData; savedTo?: string} | {dryRun: false; plan: PlanData; execution: ExecutionResult}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    env: Flags.string({char: 'e', description: 'environment from the config (default: VAULTCTL_ENV, the file\'s defaultEnvironment, else "lab")', helpGroup: 'GLOBAL'}),
    config: Flags.string({description: 'config file (default: VAULTCTL_CONFIG, ./vaultctl.yaml, ~/.config/vaultctl/config.yaml)', helpGroup: 'GLOBAL'}),
    'dry-run': Flags.boolean({description: 'print the plan, step by step with the manual command for each; change nothing', helpGroup: 'GLOBAL'}),
    yes: Flags.boolean({char: 'y', description: 'do not ask before destructive steps (not enough on a protected environment)', helpGroup: 'GLOBAL'}),
    confirm: Flags.string({description: 'confirm destructive steps on this environment by naming it', helpValue: 'ENV', helpGroup: 'GLOBAL'}),
    'plan-out': Flags.string({description: 'write the plan to FILE (JSON) and change nothing; review it with `vaultctl plan show FILE`, run it with `vaultctl apply FILE`', helpValue: 'FILE', helpGroup: 'GLOBAL'}),
    debug: Flags.boolean({description: 'show stack traces and internal detail on errors', helpGroup: 'GLOBAL'}),
  }

  protected flags!: BaseFlags<T>
  private loaded?: LoadedConfig
  private accessFor?: string

  public override async init(): Promise<void> {
    await super.init()
    const {flags} = await this.parse({flags: this.ctor.flags, baseFlags: (super.ctor as typeof BaseCommand).baseFlags, args: this.ctor.args, enableJsonFlag: this.ctor.enableJsonFlag, strict: this.ctor.strict})
    this.flags = flags as BaseFlags<T>
    if (process.env.NO_COLOR !== undefined || this.jsonEnabled() || !process.stdout.isTTY) chalk.level = 0
  }

  protected config_(): LoadedConfig {
    this.loaded ??= loadConfig(this.flags.config, process.cwd(), cachedParse)
    return this.loaded
  }

  protected environment(): ResolvedEnvironment {
    const r = resolveEnvironment(this.config_(), this.flags.env)
    if (this.accessFor !== r.name) {
      this.accessFor = r.name
      // Every run, also under --json (stderr): verification turned off is never silent.
      for (const w of applyAccess(r.name, r.env)) process.stderr.write(chalk.yellow(w) + '\n')
    }
    return r
  }

  /** A plan file written by --plan-out (exit 2 when it cannot be read or is not a plan). */
  protected async readPlanFile(file: string): Promise<SavedPlan> {
    const {parseSavedPlan} = await import('./lib/plan/saved.js')
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw usageError('NO_PLAN_FILE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`)
    }
    return parseSavedPlan(text, file)
  }

  /** With audit.s3: each appended record also goes to S3 (written once; Object Lock as configured). */
  private auditSink(envName: string): ((rec: AuditRecord) => Promise<void>) | undefined {
    let loaded: LoadedConfig | undefined
    try {
      loaded = this.config_()
    } catch {
      return undefined // no config (lab commands run without one): no audit.s3 either
    }
    const target = auditS3Target(loaded, envName)
    if (!target) return undefined
    return async (rec) => {
      const {s3Client} = await import('./lib/clients/s3.js')
      const {putAuditObject} = await import('./lib/clients/audit-s3.js')
      const client = await s3Client(target.conn)
      try {
        await putAuditObject(client, target.bucket, auditKey(target.prefix, rec), JSON.stringify(rec) + '\n', target.retention)
      } finally {
        client.destroy()
      }
    }
  }

  protected auditFile(): string {
    const fromConfig = this.loaded?.config.audit?.path
    return fromConfig ? expandHome(fromConfig) : defaultAuditFile()
  }

  protected get interactive(): boolean {
    return Boolean(process.stdin.isTTY && process.stderr.isTTY)
  }

  /** The --json result, with every secret vaultctl has read starred. */
  protected override logJson(json: unknown): void {
    process.stdout.write(redact(JSON.stringify(json, null, 2)) + '\n')
  }

  /** Human output goes to stdout unless --json, where only the returned result is printed. */
  protected out(text: string): void {
    if (!this.jsonEnabled()) this.log(redact(text))
  }

  /** Progress and warnings: stderr, silent under --json. */
  protected note(text: string): void {
    if (!this.jsonEnabled()) process.stderr.write(redact(text) + '\n')
  }

  /** --dry-run: print the plan and return it. Otherwise confirm, execute, and return the outcome. */
  protected async runPlan(fresh: Plan, opts: {secrets?: OperationSecrets} = {}): Promise<PlanRunResult> {
    let plan = fresh
    // The plan's printing and saving (and zod for saved plans) only where a plan is run.
    const [{planData}, {formatPlan}, {driftOf, savePlan}] = await Promise.all([import('./lib/plan/data.js'), import('./lib/plan/print.js'), import('./lib/plan/saved.js')])
    let data = planData(plan)
    const applying = takeApplying(this.id)
    if (applying) {
      const drift = driftOf(applying, data, plan.fingerprint)
      if (drift.length) {
        throw refusal('PLAN_DRIFT', `the saved plan ${applying.plan.hash} (made ${applying.createdAt}) no longer fits what vaultctl observes now:\n  ${drift.join('\n  ')}`,
          ['Nothing was changed. Make a new plan from the current state and review it again.'], {drift, saved: applying.plan.hash, fresh: data.hash})
      }
      // What runs is exactly what was saved (and reviewed); preconditions are re-checked as usual.
      // The fresh plan contributes only its preconditions' checks and always-flags: the summary, what
      // was observed, the step titles and operations are the saved plan's (so is its hash).
      if (applying.plan.typed) {
        const saved = applying.plan
        plan = {...plan, summary: saved.summary, ...(saved.observed ? {observed: saved.observed} : {}),
          steps: plan.steps.map((s, i) => ({...s, title: saved.steps[i]!.title, op: saved.steps[i]!.op!}) as Step)}
      }
      data = planData(plan)
    } else if (this.flags['plan-out']) {
      const file = resolve(this.flags['plan-out'])
      const saved = savePlan(plan, data, {version: this.config.version, commandId: this.id ?? '', argv: this.argv})
      writePrivate(file, JSON.stringify(saved, null, 2) + '\n')
      this.out(formatPlan(data))
      this.out(chalk.dim(`\nPlan saved to ${file}; nothing was changed. Review: vaultctl plan show ${file}; run: vaultctl apply ${file}${data.typed ? '' : '\n(This command\'s steps are not all typed operations yet: apply runs it only if a fresh plan is identical.)'}`))
      return {dryRun: true, plan: data, savedTo: file}
    }
    if (this.flags['dry-run']) {
      this.out(formatPlan(data))
      this.out(chalk.dim('\nDry run: nothing was changed.'))
      return {dryRun: true, plan: data}
    }
    if (!this.jsonEnabled() && process.env.VAULTCTL_QUIET_PLAN === undefined) process.stderr.write(redact(formatPlan(data)) + '\n\n')
    const auditSink = this.auditSink(plan.env)
    // The executor (listr2, the operations' dispatch) only for a run that executes: local
    // commands and dry runs start without it.
    const {executePlan} = await import('./lib/plan/execute.js')
    const {createInterface} = await import('node:readline/promises')
    const execution = await executePlan(plan, {
      confirm: this.flags.confirm,
      yes: this.flags.yes,
      interactive: this.interactive,
      prompt: async (q) => {
        const rl = createInterface({input: process.stdin, output: process.stderr})
        try {
          return await rl.question(q)
        } finally {
          rl.close()
        }
      },
      progress: this.jsonEnabled() ? 'silent' : process.stderr.isTTY && process.env.NO_COLOR === undefined ? 'live' : 'plain',
      auditFile: this.auditFile(),
      argv: [this.id ?? '', ...this.argv],
      secrets: opts.secrets,
      ...(auditSink ? {auditSink} : {}),
    })
    return {dryRun: false, plan: data, execution}
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    const debug = this.argv.includes('--debug')
    let error: VaultctlError
    if (err instanceof VaultctlError) {
      error = err
      error.message = unwrapFlagError(error.message)
    }
    else if (err.oclif?.exit !== undefined && err.oclif.exit !== 1 && !(err.code ?? '').startsWith('ERR_')) {
      // oclif's own exits (help, version) and flag parsing errors.
      if (err.oclif.exit === 0) throw err
      error = usageError('USAGE', err.message, [`Run \`vaultctl ${this.id?.replaceAll(':', ' ') ?? ''} --help\`.`])
    } else if (/Unexpected argument|Nonexistent flag|Expected --|Missing required flag|Parsing --/i.test(err.message)) {
      error = usageError('USAGE', err.message.split('\n')[0]!, [`Run \`vaultctl ${this.id?.replaceAll(':', ' ') ?? ''} --help\`.`])
    } else {
      error = fromSystemError(err) ?? new VaultctlError(`unexpected error: ${err.message}`, {code: 'INTERNAL', exit: ExitCode.failed, kind: 'system', cause: err,
        suggestions: ['Re-run with --debug for the stack trace, and report it.']})
    }
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify({error: {...error.toJSON(), message: redact(error.message)}}, null, 2) + '\n')
    } else {
      process.stderr.write(chalk.red('Error: ') + redact(error.message) + '\n')
      for (const s of error.suggestions) process.stderr.write(chalk.dim('  → ') + redact(s) + '\n')
      if (debug) process.stderr.write(redact(String((error.cause as Error | undefined)?.stack ?? error.stack)) + '\n')
    }
    process.exitCode = error.exit
    return undefined
  }
}

/** For commands that run no plan (the WAL entry points): the plan flags neither shown nor meaningful. */
export const hiddenPlanFlags = {
  'dry-run': Flags.boolean({hidden: true, helpGroup: 'GLOBAL'}),
  'plan-out': Flags.string({hidden: true, helpGroup: 'GLOBAL'}),
  yes: Flags.boolean({hidden: true, helpGroup: 'GLOBAL'}),
  confirm: Flags.string({hidden: true, helpGroup: 'GLOBAL'}),
  debug: Flags.boolean({hidden: true, helpGroup: 'GLOBAL'}),
}
