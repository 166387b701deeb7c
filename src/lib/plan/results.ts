// Results come back from execution: each operation's typed value, read by step id.
import type {ExecutionResult} from './types.js'

/** The value the operation of step `id` returned, if it ran. */
export function stepResult<T>(execution: ExecutionResult, id: string): T | undefined {
  const s = execution.steps.find((x) => x.id === id)
  return s?.status === 'succeeded' ? (s.result as T | undefined) : undefined
}
