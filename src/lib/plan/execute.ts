// Runs a plan: confirm, re-check preconditions right before the first change, run steps in
// order with progress on stderr, stop at the first failure, and always append an audit record.
import {Listr, ListrLogger, ProcessOutput} from 'listr2'
import {redact} from '../config/secrets.js'
import {VaultctlError, errorMessage, failure, refusal} from '../errors.js'
import {formatDuration} from '../units.js'
import {runOperation, type OperationSecrets} from '../clients/operations.js'
import {appendAudit, auditRecord, type AuditRecord} from './audit.js'
import {manual} from './operations.js'
import {confirmPlan, type ConfirmOptions} from './confirm.js'
import {blocks, planData} from './data.js'
import type {ExecutionResult, Plan, RunContext, Step, StepRecord} from './types.js'

export type ExecuteOptions = ConfirmOptions & {
  /** `silent` under --json; `plain` without a TTY or with NO_COLOR; `live` otherwise. */
  progress: 'live' | 'plain' | 'silent'
  auditFile: string
  argv: string[]
  signal?: AbortSignal
  /** secrets the operations need (resolved from the environment at run time; never in the plan) */
  secrets?: OperationSecrets
  /** a second home for each audit record once it is appended (audit.s3); its failure is a warning */
  auditSink?: (record: AuditRecord) => Promise<void>
}

async function checkPreconditions(plan: Plan): Promise<void> {
  for (const p of plan.preconditions) {
    let res
    try {
      res = await p.check()
    } catch (error) {
      res = {ok: false, detail: `could not be checked: ${errorMessage(error)}`}
    }
    if (!res.ok) {
      throw refusal('PRECONDITION_FAILED', `precondition "${p.description}" no longer holds: ${res.detail}`,
        res.suggestions ?? ['Nothing was changed. Re-run to build a fresh plan from the current state.'], {precondition: p.id})
    }
  }
}

function nextAdvice(plan: Plan, failed: Step, done: StepRecord[], interrupted = false): string {
  const parts = [interrupted ? `Interrupted at step "${failed.title}".` : `Step "${failed.title}" failed.`]
  parts.push(done.length ? `Completed before it: ${done.map((d) => d.id).join(', ')}.` : 'No step had completed.')
  parts.push(`To do it by hand: ${failed.op ? manual(failed.op) : failed.manual}`)
  if (plan.recovery) parts.push(plan.recovery)
  else parts.push('Fix the cause and re-run the same command: completed steps are planned again from the current state.')
  return parts.join(' ')
}

/** The steps as listr2 tasks (progress on stderr), a group of steps as one line. */
function progressTasks(plan: Plan, progress: ExecuteOptions['progress'], runOne: (i: number, note: (m: string) => void) => Promise<void>): {run(): Promise<unknown>} {
  const stderr = new ProcessOutput(process.stderr, process.stderr)
  const logger = new ListrLogger({processOutput: stderr, toStderr: ['STARTED', 'COMPLETED', 'FAILED', 'SKIPPED', 'OUTPUT', 'TITLE', 'RETRY', 'ROLLBACK', 'PAUSED', 'PROMPT']})
  return new Listr(
    blocks(plan.steps.map((s, i) => ({...s, index: i}))).map((b) => ({
      title: b.steps.length === 1 ? b.steps[0]!.title : `${b.group} (0/${b.steps.length})`,
      task: async (_ctx: unknown, task: {title: string; output: string}) => {
        for (const [k, s] of b.steps.entries()) {
          let last = 0
          await runOne(s.index, (m) => {
            // at most one progress line a second: plain output (CI logs) stays readable
            if (Date.now() - last < 1000) return
            last = Date.now()
            task.output = redact(m)
          })
          if (b.steps.length > 1 && (k % 100 === 99 || k === b.steps.length - 1)) task.title = `${b.group} (${k + 1}/${b.steps.length})`
        }
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      registerSignalListeners: false,
      renderer: progress === 'live' ? 'default' : 'simple',
      rendererOptions: {logger, timer: {condition: true, field: (d: number) => formatDuration(d / 1000)}} as never,
      fallbackRenderer: 'simple',
      fallbackRendererOptions: {logger, timestamp: undefined} as never,
      fallbackRendererCondition: progress !== 'live',
      silentRendererCondition: progress === 'silent',
    },
  )
}

/** Clean-up steps still run (and are recorded) after a failure, with a signal of their own. */
async function runAlwaysSteps(plan: Plan, failedAt: number, records: StepRecord[], state: Record<string, unknown>, secrets: OperationSecrets): Promise<void> {
  for (const [i, s] of plan.steps.entries()) {
    if (i <= failedAt || !s.always) continue
    const t0 = Date.now()
    try {
      const ctx = {signal: new AbortController().signal, note: () => {}, state}
      if (s.op) records[i]!.result = await runOperation(s.op, {...ctx, secrets})
      else await s.run(ctx)
      records[i]!.status = 'succeeded'
    } catch (e) {
      records[i]!.status = 'failed'
      records[i]!.error = redact(errorMessage(e))
    }
    records[i]!.durationMs = Date.now() - t0
  }
}

/** Run one step and record its outcome in `record`: status, detail, the operation's result, error, duration. */
async function runStep(step: Step, ctx: RunContext, record: StepRecord, secrets: OperationSecrets): Promise<void> {
  const t0 = Date.now()
  try {
    const out = step.op ? {data: await runOperation(step.op, {...ctx, secrets})} : await step.run(ctx)
    if (step.verify) await step.verify(ctx)
    record.status = 'succeeded'
    if (out && 'detail' in out && out.detail) record.detail = redact(out.detail)
    if (step.op && out?.data !== undefined) record.result = out.data
  } catch (error) {
    record.status = ctx.signal.aborted ? 'interrupted' : 'failed'
    record.error = redact(errorMessage(error))
    // An operation that fails may still say what it found (every check of a validation).
    const partial = error instanceof VaultctlError ? (error.details as {result?: unknown} | undefined)?.result : undefined
    if (step.op && partial !== undefined) record.result = partial
    throw error
  } finally {
    record.durationMs = Date.now() - t0
  }
}

export async function executePlan(plan: Plan, opts: ExecuteOptions): Promise<ExecutionResult> {
  const data = planData(plan)
  const started = Date.now()
  const records: StepRecord[] = plan.steps.map((s) => ({id: s.id, title: s.title, risk: s.risk, status: 'not-run', durationMs: 0}))
  const result: ExecutionResult = {command: plan.command, env: plan.env, planHash: data.hash, status: 'succeeded', durationMs: 0, steps: records}
  const finish = async (status: ExecutionResult['status'], next?: string): Promise<ExecutionResult> => {
    result.status = status
    result.durationMs = Date.now() - started
    if (next) result.next = redact(next)
    const rec = appendAudit(opts.auditFile, auditRecord(result, opts.argv, data))
    if (opts.auditSink) {
      await opts.auditSink(rec).catch((error: unknown) => {
        process.stderr.write(`Warning: audit record ${rec.seq} is in ${opts.auditFile} but could not be written to S3: ${redact(errorMessage(error))}\n  → vaultctl audit verify --s3 --upload-missing uploads what S3 is missing.\n`)
      })
    }
    return result
  }

  try {
    await confirmPlan(data, opts)
  } catch (error) {
    await finish('refused')
    throw error
  }

  const firstChange = plan.steps.findIndex((s) => s.risk !== 'read')
  const controller = new AbortController()
  opts.signal?.addEventListener('abort', () => controller.abort(opts.signal?.reason))
  const state: Record<string, unknown> = {}
  let failedAt: number | undefined
  let failError: unknown

  const runOne = async (i: number, note: (m: string) => void): Promise<void> => {
    const step = plan.steps[i]!
    if (i === firstChange || (firstChange === -1 && i === 0)) await checkPreconditions(plan)
    if (controller.signal.aborted) {
      records[i]!.status = 'interrupted'
      failedAt = i
      failError = failure('INTERRUPTED', `interrupted (${errorMessage(controller.signal.reason)}) before this step started`)
      throw failError
    }
    try {
      await runStep(step, {signal: controller.signal, note, state}, records[i]!, opts.secrets ?? {})
    } catch (error) {
      failedAt = i
      failError = error
      throw error
    }
  }

  if (plan.preconditions.length > 0 && plan.steps.length === 0) await checkPreconditions(plan)

  const tasks = progressTasks(plan, opts.progress, runOne)

  // Ctrl-C or a kill (SIGTERM, as a CronJob's pod gets) aborts the running operation through its
  // signal; the plan's `always` steps still run, and the record says what was done.
  const onSigint = () => controller.abort(new Error('interrupted by SIGINT'))
  const onSigterm = () => controller.abort(new Error('interrupted by SIGTERM'))
  // `on`, not `once`: execa's signal-exit handler re-raises a signal when it sees no other
  // listener left, and a `once` listener is gone by the time it looks (the process would die).
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigterm)
  try {
    await tasks.run()
  } catch (error) {
    if (failedAt === undefined) {
      // A precondition refusal (or an interrupt) before any step ran.
      await finish(controller.signal.aborted ? 'interrupted' : 'refused')
      throw error
    }
    const step = plan.steps[failedAt]!
    // The clean-up steps may say so in what they record (a drill's record: the drill failed here).
    state['plan.failed'] = {step: step.id, error: redact(errorMessage(failError ?? error)), interrupted: controller.signal.aborted}
    await runAlwaysSteps(plan, failedAt, records, state, opts.secrets ?? {})
    const next = nextAdvice(plan, step, records.filter((r) => r.status === 'succeeded'), controller.signal.aborted)
    await finish(controller.signal.aborted ? 'interrupted' : 'failed', next)
    const cause = failError ?? error
    if (cause instanceof VaultctlError && cause.exit !== 1) {
      throw new VaultctlError(`${step.title}: ${redact(cause.message)}`, {code: cause.code, exit: cause.exit, suggestions: [next, ...cause.suggestions], details: result, cause})
    }
    throw failure(controller.signal.aborted ? 'INTERRUPTED' : 'STEP_FAILED', `step ${failedAt + 1}/${plan.steps.length} "${step.title}" ${controller.signal.aborted ? 'interrupted' : 'failed'}: ${redact(errorMessage(cause))}`, [next], cause, result)
  } finally {
    process.removeListener('SIGINT', onSigint)
    process.removeListener('SIGTERM', onSigterm)
    // Nothing keeps running once the plan is done: a request still in flight (a detached
    // switchover whose answer did not matter any more) is cancelled.
    if (!controller.signal.aborted) controller.abort(new Error('the plan has finished'))
  }
  return await finish('succeeded')
}
