// The human report of a switchover: members before and after, timeline, timings.
import {table} from '../table.js'
import {formatBytes} from '../units.js'
import type {ClusterState, MemberRow} from './cluster-state.js'
import {memberRows} from './cluster-state.js'
import type {SwitchoverOutcome} from './switchover.js'

export const membersTable = (rows: MemberRow[]): string =>
  table(['MEMBER', 'ROLE', 'STATE', 'TL', 'LAG'], rows.map((m) => [m.name, m.role, m.state, m.timeline === undefined ? '' : String(m.timeline), m.lagBytes === undefined ? '' : formatBytes(m.lagBytes)]))

export function switchoverReport(before: ClusterState, out: SwitchoverOutcome): string {
  const lines = ['Before:', membersTable(memberRows(before))]
  if (out.after) lines.push('', 'After:', membersTable(memberRows(out.after)))
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
