// Who may run what: destructive steps on a protected environment need the environment's name
// typed back (--confirm NAME or at a prompt); elsewhere --yes or a y/N prompt. With no terminal
// and no flag, refuse (exit 3) instead of prompting.
import {refusal} from '../errors.js'
import type {PlanData} from './types.js'

export type ConfirmOptions = {
  confirm?: string
  yes?: boolean
  interactive: boolean
  prompt?: (question: string) => Promise<string>
}

export async function confirmPlan(plan: PlanData, opts: ConfirmOptions): Promise<void> {
  const disruptive = plan.protected && plan.confirmOnProtected && plan.counts.write > 0
  if (plan.counts.destructive === 0 && !disruptive) return
  const destructive = plan.steps.filter((s) => s.risk === 'destructive').map((s) => s.title)
  const what = destructive.length === 0
    ? `a disruptive change (${plan.summary})`
    : `${destructive.length} destructive step${destructive.length > 1 ? 's' : ''} (${destructive.slice(0, 3).join('; ')}${destructive.length > 3 ? '; ...' : ''})`
  if (opts.confirm !== undefined && opts.confirm !== plan.env) {
    throw refusal('CONFIRM_MISMATCH', `--confirm ${opts.confirm} does not match the environment "${plan.env}"`,
      [`Pass --confirm ${plan.env} to confirm this plan on ${plan.env}.`])
  }
  if (opts.confirm === plan.env) return
  if (plan.protected) {
    if (opts.interactive && opts.prompt) {
      const answer = await opts.prompt(`This plan has ${what} on the PROTECTED environment "${plan.env}". Type the environment name to continue: `)
      if (answer.trim() === plan.env) return
      throw refusal('CONFIRM_DECLINED', 'confirmation did not match; nothing was changed', [`Re-run and type "${plan.env}", or pass --confirm ${plan.env}.`])
    }
    throw refusal('CONFIRM_REQUIRED', `refusing ${what} on protected environment "${plan.env}" without confirmation`,
      [`Review the plan with --dry-run, then pass --confirm ${plan.env}.`])
  }
  if (opts.yes) return
  if (opts.interactive && opts.prompt) {
    const answer = await opts.prompt(`This plan has ${what} on "${plan.env}". Continue? [y/N] `)
    if (/^y(es)?$/i.test(answer.trim())) return
    throw refusal('CONFIRM_DECLINED', 'not confirmed; nothing was changed', ['Re-run and answer y, or pass --yes.'])
  }
  throw refusal('CONFIRM_REQUIRED', `refusing ${what} without confirmation (no terminal to ask on)`,
    ['Review the plan with --dry-run, then pass --yes (or --confirm ' + plan.env + ').'])
}
