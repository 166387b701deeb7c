// A change is data: a Plan lists what was observed, what must still hold, and the typed steps
// that would act. Printing and executing are separate from building, so --dry-run never runs a step.
import type {Operation} from './operations.js'

export type Risk = 'read' | 'write' | 'destructive'

export type RunContext = {
  signal: AbortSignal
  /** A line of progress for the current step (shown on stderr, never in --json output). */
  note(message: string): void
  /** Shared between steps of one run (e.g. an id learnt in step 1 used in step 3). */
  state: Record<string, unknown>
}

export type StepOutcome = {detail?: string; data?: unknown}

type StepBase = {
  id: string
  title: string
  risk: Risk
  /** Steps that share a group are shown and tracked as one line (e.g. 40,000 object copies). */
  group?: string
  /** Throws when the step's effect cannot be observed afterwards. */
  verify?(ctx: RunContext): Promise<void>
  /** Clean-up that runs even after an earlier step failed (e.g. tear down an ephemeral instance). */
  always?: boolean
}

/** A step that carries a typed operation: run by the executor, printed from the same data, hashed. */
export type OpStep = StepBase & {op: Operation; manual?: never; run?: never}

/** A step still written as a closure, with its manual command written beside it (being replaced by OpStep). */
export type ClosureStep = StepBase & {
  op?: never
  /** The command an operator would type by hand to do the same thing. */
  manual: string
  run(ctx: RunContext): Promise<StepOutcome | void>
}

export type Step = OpStep | ClosureStep

export type CheckResult = {ok: boolean; detail: string; suggestions?: string[]}

export type Precondition = {
  id: string
  description: string
  /** What the planner saw when it built the plan (recorded in the plan and its hash). */
  observed?: unknown
  check(): Promise<CheckResult>
}

export type Plan = {
  /** Command id, e.g. "lab up". */
  command: string
  env: string
  protected: boolean
  summary: string
  /** State read while planning, shown with the plan. */
  observed?: Record<string, unknown>
  preconditions: Precondition[]
  steps: Step[]
  /** What to tell the operator when a step fails, in addition to the failed step itself. */
  recovery?: string
  /** Disruptive even without a destructive step (a switchover): confirm it on a protected environment. */
  confirmOnProtected?: boolean
  /**
   * The observed state the plan depends on (who leads, on which timeline, ...): a saved plan is
   * applied only while a fresh observation gives the same fingerprint.
   */
  fingerprint?: Record<string, unknown>
}

export type StepData = {id: string; title: string; risk: Risk; manual: string; group?: string; op?: Operation}

/** The printable, hashable form of a plan: the same data for the table and for --json. */
export type PlanData = {
  command: string
  env: string
  protected: boolean
  summary: string
  hash: string
  observed?: Record<string, unknown>
  preconditions: {id: string; description: string; observed?: unknown}[]
  steps: StepData[]
  counts: Record<Risk, number>
  confirmOnProtected?: boolean
  /** sha256 (16 hex) of the plan's fingerprint, when it has one */
  fingerprint?: string
  /** every step is a typed operation: what is printed is exactly what runs */
  typed: boolean
}

export type StepStatus = 'succeeded' | 'failed' | 'not-run' | 'interrupted'

export type StepRecord = {id: string; title: string; risk: Risk; status: StepStatus; durationMs: number; detail?: string; error?: string; result?: unknown}

export type ExecutionResult = {
  command: string
  env: string
  planHash: string
  status: 'succeeded' | 'failed' | 'refused' | 'interrupted'
  durationMs: number
  steps: StepRecord[]
  next?: string
}
