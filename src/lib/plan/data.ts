// Turns a Plan into plain data and a stable hash of it (what was seen and what will be done).
import {createHash} from 'node:crypto'
import {manual} from './operations.js'
import type {Plan, PlanData, Risk} from './types.js'

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable)
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, stable((value as Record<string, unknown>)[k])]))
  }
  return value
}

export function planData(plan: Plan): PlanData {
  const counts: Record<Risk, number> = {read: 0, write: 0, destructive: 0}
  const steps = plan.steps.map((s) => {
    counts[s.risk]++
    return {id: s.id, title: s.title, risk: s.risk, manual: s.op ? manual(s.op) : s.manual, ...(s.group ? {group: s.group} : {}), ...(s.op ? {op: s.op} : {})}
  })
  const body = {
    command: plan.command,
    env: plan.env,
    protected: plan.protected,
    summary: plan.summary,
    ...(plan.observed ? {observed: plan.observed} : {}),
    preconditions: plan.preconditions.map((p) => ({id: p.id, description: p.description, ...(p.observed === undefined ? {} : {observed: p.observed})})),
    steps,
    counts,
    ...(plan.confirmOnProtected ? {confirmOnProtected: true} : {}),
    ...(plan.fingerprint ? {fingerprint: digest(plan.fingerprint)} : {}),
    typed: plan.steps.every((s) => s.op !== undefined),
  }
  return {...body, hash: digest(body)}
}

/** sha256 (16 hex) of a value's canonical JSON (keys sorted). */
export const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(stable(value))).digest('hex').slice(0, 16)

/** Consecutive steps of the same group collapse into one block for display and progress. */
export function blocks<T extends {group?: string}>(steps: T[]): {group?: string; first: number; steps: T[]}[] {
  const out: {group?: string; first: number; steps: T[]}[] = []
  steps.forEach((s, i) => {
    const last = out.at(-1)
    if (s.group && last?.group === s.group) last.steps.push(s)
    else out.push({group: s.group, first: i, steps: [s]})
  })
  return out
}
