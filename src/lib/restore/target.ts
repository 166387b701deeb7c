// Recovery targets as operators give them. A time without a UTC offset is refused: "14:30" on a
// laptop in Berlin and on a server in UTC are different instants.
import {usageError} from '../errors.js'

export type RecoveryTarget = {kind: 'time'; time: Date} | {kind: 'lsn'; lsn: string} | {kind: 'latest'}

export function parseTargetTime(text: string): Date {
  const t = text.trim()
  if (!/(Z|[+-]\d\d(:?\d\d)?)$/i.test(t)) {
    throw usageError('AMBIGUOUS_TIME', `--target-time ${text} has no UTC offset, so it names no single instant`,
      [`Add the offset: ${t}Z for UTC, or e.g. ${t}+01:00.`])
  }
  const d = new Date(t.replace(' ', 'T'))
  if (Number.isNaN(d.getTime())) throw usageError('BAD_TIME', `--target-time ${text} is not an ISO 8601 time`, ['e.g. 2026-11-27T14:30:00Z'])
  return d
}

/** PostgreSQL's recovery_target_time: always with an explicit +00 offset. */
export const pgTimestamp = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '+00')

export function describeTarget(t: RecoveryTarget): string {
  return t.kind === 'time' ? `time ${t.time.toISOString()} (UTC)` : t.kind === 'lsn' ? `LSN ${t.lsn}` : 'the end of the archived WAL (latest)'
}
