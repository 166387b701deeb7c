// `vaultctl apply FILE` runs the command the plan was made by, with the arguments it was made
// with; that command's runPlan finds the saved plan here and applies it instead of its fresh one.
import type {SavedPlan} from './saved.js'

let pending: SavedPlan | undefined

export function setApplying(plan: SavedPlan): void {
  pending = plan
}

/** The saved plan to apply, if `commandId` is the command it was made by (taken once). */
export function takeApplying(commandId: string | undefined): SavedPlan | undefined {
  if (!pending || pending.commandId !== commandId) return undefined
  const p = pending
  pending = undefined
  return p
}
