// The human report of a switchover: members before and after, timeline, timings.
import {table} from '../table.js'
import {formatBytes} from '../units.js'
import type {ClusterState, MemberRow} from './cluster-state.js'
import {memberRows} from './cluster-state.js'
import type {OperationResult} from '../plan/operations.js'
import {stepResult} from '../plan/results.js'
import type {ExecutionResult} from '../plan/types.js'

/** What a switchover's steps returned, gathered from the execution. */
export type SwitchoverOutcome = {
  response?: {status: number; text: string}
  newLeader?: string
  newTimeline?: number
  writableAfterMs?: number
  replicasStreamingAfterMs?: number
  oldLeaderRejoined?: boolean | null
  after?: MemberRow[]
  notes: string[]
}

export function switchoverOutcome(execution: ExecutionResult | undefined): SwitchoverOutcome {
  if (!execution) return {notes: []}
  const request = execution.steps.find((s) => s.id.startsWith('request-') || s.id === 'schedule-switchover' || s.id === 'cancel-scheduled')?.result as OperationResult['patroni.request'] | undefined
  const leader = stepResult<OperationResult['patroni.await-writable-leader']>(execution, 'wait-writable-leader')
  const replicas = stepResult<OperationResult['patroni.await-replicas']>(execution, 'replicas')
  const response = leader?.response ?? (request && request.status !== 'sent' ? request : undefined)
  return {
    ...(response ? {response} : {}),
    ...(leader ? {newLeader: leader.leader, newTimeline: leader.timeline, writableAfterMs: leader.afterMs} : {}),
    ...(replicas ? {replicasStreamingAfterMs: replicas.streamingAfterMs ?? undefined, oldLeaderRejoined: replicas.oldLeaderRejoined,
      after: replicas.members.map((m) => ({name: m.name, role: m.role as MemberRow['role'], state: m.state, timeline: m.timeline, lagBytes: m.lagBytes}))} : {}),
    notes: [...(leader?.notes ?? []), ...(replicas?.notes ?? [])],
  }
}

export const membersTable = (rows: MemberRow[]): string =>
  table(['MEMBER', 'ROLE', 'STATE', 'TL', 'LAG'], rows.map((m) => [m.name, m.role, m.state, m.timeline === undefined ? '' : String(m.timeline), m.lagBytes === undefined ? '' : formatBytes(m.lagBytes)]))

export function switchoverReport(before: ClusterState, out: SwitchoverOutcome): string {
  const lines = ['Before:', membersTable(memberRows(before))]
  if (out.after) lines.push('', 'After:', membersTable(out.after))
  lines.push('')
  if (out.newLeader) {
    lines.push(`New leader: ${out.newLeader} on timeline ${out.newTimeline} (was ${before.leader?.name ?? 'none'} on ${before.leader?.timeline ?? '?'})`)
    lines.push(`Writable leader after: ${(out.writableAfterMs! / 1000).toFixed(2)} s`)
    lines.push(out.replicasStreamingAfterMs !== undefined ? `All replicas streaming after: ${(out.replicasStreamingAfterMs / 1000).toFixed(2)} s` : 'Replicas: not all streaming yet (use --wait-replicas to wait for them)')
    if (out.oldLeaderRejoined !== null && out.oldLeaderRejoined !== undefined) lines.push(`Old leader ${before.leader?.name} ${out.oldLeaderRejoined ? 'rejoined as a replica' : 'has not rejoined as a replica yet'}`)
  } else if (out.response) lines.push(`Patroni: ${out.response.status} ${out.response.text}`)
  for (const n of out.notes) lines.push(`Note: ${n}`)
  return lines.join('\n')
}
