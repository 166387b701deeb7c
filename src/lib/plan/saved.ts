// Saved plans, as `terraform plan -out`: `--plan-out FILE` writes the plan (its operations, the
// fingerprint of the state it was made from, the vaultctl version and environment) and changes
// nothing; `vaultctl apply FILE` observes again, refuses when anything the plan depends on has
// changed, and otherwise executes exactly the saved operations. Pure: parsing and comparing.
import {z} from 'zod'
import {usageError} from '../errors.js'
import {digest} from './data.js'
import type {Operation} from './operations.js'
import type {Plan, PlanData} from './types.js'

export const PLAN_FORMAT = 'vaultctl-plan/v1'

export type SavedPlan = {
  format: typeof PLAN_FORMAT
  vaultctl: string
  createdAt: string
  env: string
  /** oclif command id ("failover:postgres") and the arguments it was planned with */
  commandId: string
  argv: string[]
  plan: PlanData
  /** the observed state the plan depends on, as it was (shown when it has changed) */
  state?: Record<string, unknown>
}

const SavedPlanSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  vaultctl: z.string(),
  createdAt: z.string(),
  env: z.string(),
  commandId: z.string(),
  argv: z.array(z.string()),
  plan: z.object({command: z.string(), env: z.string(), hash: z.string(), typed: z.boolean(), steps: z.array(z.object({id: z.string()}).passthrough())}).passthrough(),
  state: z.record(z.string(), z.unknown()).optional(),
})

/** Flags that say how to run, not what to do: not saved with a plan (apply takes its own). */
const RUN_FLAGS = new Set(['--plan-out', '--json', '--dry-run', '--yes', '-y', '--confirm', '--debug', '--env', '-e', '--config'])
const TAKES_VALUE = new Set(['--plan-out', '--confirm', '--env', '-e', '--config'])

export function planArgv(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a
    if (RUN_FLAGS.has(name)) {
      if (!a.includes('=') && TAKES_VALUE.has(name)) i++
      continue
    }
    out.push(a)
  }
  return out
}

export function savePlan(plan: Plan, data: PlanData, o: {version: string; commandId: string; argv: string[]}): SavedPlan {
  return {format: PLAN_FORMAT, vaultctl: o.version, createdAt: new Date().toISOString(), env: plan.env, commandId: o.commandId, argv: planArgv(o.argv),
    plan: data, ...(plan.fingerprint ? {state: plan.fingerprint} : {})}
}

export function parseSavedPlan(text: string, file: string): SavedPlan {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw usageError('NOT_A_PLAN', `${file} is not JSON: ${(error as Error).message}`, ['Give a file written by `--plan-out`.'])
  }
  const r = SavedPlanSchema.safeParse(json)
  if (!r.success) throw usageError('NOT_A_PLAN', `${file} is not a vaultctl plan (${r.error.issues[0]?.path.join('.') || 'top level'}: ${r.error.issues[0]?.message})`, ['Give a file written by `--plan-out`.'])
  return r.data as unknown as SavedPlan
}

/** What differs between the state a plan was made from and the state now, key by key. */
export function stateChanges(before: Record<string, unknown> | undefined, now: Record<string, unknown> | undefined): string[] {
  const out: string[] = []
  const walk = (a: unknown, b: unknown, path: string) => {
    if (digest(a ?? null) === digest(b ?? null)) return
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k)
      return
    }
    out.push(`${path || '(state)'}: ${JSON.stringify(a ?? null)} -> ${JSON.stringify(b ?? null)}`)
  }
  walk(before, now, '')
  return out
}

/**
 * What of an operation must be the same in a fresh plan. A WAL prefetch list only speeds recovery
 * up (restore_command fetches what is not in the spool) and grows with every archived segment:
 * the saved list runs, a longer fresh one is no drift.
 */
const comparable = (op: Operation) => (op.kind === 'wal.prefetch' ? {...op, names: [], complete: false} : op)

/** The steps as they would run: for a typed plan, the operations; otherwise what is printed. */
const runnable = (d: PlanData) => d.steps.map((s) => ({id: s.id, risk: s.risk, ...(s.op ? {op: comparable(s.op)} : {title: s.title, manual: s.manual})}))

/**
 * Why a saved plan may not be applied to the state observed now (empty: it may). A typed plan
 * must have the same fingerprint and the same operations; a plan with closure steps must be the
 * same plan altogether (its hash), since what it runs is not in the file.
 */
export function driftOf(saved: SavedPlan, fresh: PlanData, freshState: Record<string, unknown> | undefined): string[] {
  const reasons: string[] = []
  if (saved.plan.fingerprint !== fresh.fingerprint) reasons.push(...(stateChanges(saved.state, freshState).map((c) => `changed: ${c}`)), ...(saved.state || freshState ? [] : ['the observed state changed']))
  if (digest(runnable(saved.plan)) !== digest(runnable(fresh))) reasons.push('the steps a fresh plan would run differ from the saved ones')
  if (!saved.plan.typed && saved.plan.hash !== fresh.hash) reasons.push(`the plan's hash changed (${saved.plan.hash} -> ${fresh.hash})`)
  return [...new Set(reasons)]
}

