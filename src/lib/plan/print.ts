// The human form of a plan: numbered steps, each with its risk and the command an operator would
// type by hand. Groups of thousands of similar steps print as one block with a sample.
import chalk from 'chalk'
import {blocks} from './data.js'
import type {PlanData, Risk} from './types.js'

const riskColor: Record<Risk, (s: string) => string> = {
  read: (s) => chalk.dim(s),
  write: (s) => chalk.yellow(s),
  destructive: (s) => chalk.red.bold(s),
}

const SAMPLE = 3

export function formatPlan(plan: PlanData): string {
  const lines: string[] = []
  lines.push(chalk.bold(`Plan: ${plan.summary}`))
  lines.push(`Environment: ${plan.env}${plan.protected ? chalk.red(' (protected)') : ''}   Plan hash: ${plan.hash}`)
  if (plan.observed && Object.keys(plan.observed).length > 0) {
    lines.push('Observed:')
    for (const [k, v] of Object.entries(plan.observed)) lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
  }
  if (plan.preconditions.length > 0) {
    lines.push('Preconditions (re-checked right before the first change):')
    for (const p of plan.preconditions) lines.push(`  - ${p.description}`)
  }
  lines.push(`Steps (${plan.steps.length}: ${plan.counts.read} read, ${plan.counts.write} write, ${plan.counts.destructive} destructive):`)
  const width = String(plan.steps.length).length
  for (const b of blocks(plan.steps)) {
    const s = b.steps[0]!
    const n = String(b.first + 1).padStart(width)
    if (b.steps.length === 1) {
      lines.push(`  ${n}. ${riskColor[s.risk](`[${s.risk}]`)} ${s.title}`)
      lines.push(`  ${' '.repeat(width)}  $ ${s.manual}`)
      continue
    }
    const risk = b.steps.some((x) => x.risk === 'destructive') ? 'destructive' : b.steps.some((x) => x.risk === 'write') ? 'write' : 'read'
    lines.push(`  ${n}. ${riskColor[risk](`[${risk}]`)} ${b.group} (${b.steps.length} steps, ${b.first + 1}-${b.first + b.steps.length})`)
    for (const x of b.steps.slice(0, SAMPLE)) lines.push(`  ${' '.repeat(width)}  $ ${x.manual}`)
    if (b.steps.length > SAMPLE) lines.push(`  ${' '.repeat(width)}  ... and ${b.steps.length - SAMPLE} more like these`)
  }
  if (plan.steps.length === 0) lines.push('  (nothing to do)')
  return lines.join('\n')
}
