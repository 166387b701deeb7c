// Plans for Patroni switchover, failover, scheduled switchover and its cancellation. Success is
// verified, not assumed: the new leader must be on a new timeline and accept a write.
import {refusal} from '../errors.js'
import type {Plan, Precondition, Step} from '../plan/types.js'
import {readClusterState, type ClusterState} from './cluster-state.js'
import {blocking, preflight, type Check, type SwitchoverRequest} from './preflight.js'

/** `rest`: how the printed curl reaches Patroni's REST API (user and CA; the password stays a variable). */
export type PgTarget = {name: string; endpoints: string[]; user: string; database: string; password?: string; patroniConfigHint?: string; rest?: {username?: string; caFile?: string}}

export type FailoverOptions = SwitchoverRequest & {
  scheduledAt?: string
  cancel?: boolean
  timeoutMs: number
  waitReplicas: boolean
}

const patronictlOf = (t: PgTarget) => ({config: t.patroniConfigHint ?? '/etc/patroni/patroni.yml', cluster: t.name})
const restOf = (t: PgTarget) => (t.rest?.username || t.rest?.caFile ? {rest: t.rest} : {})

function refuseOn(checks: Check[], req: SwitchoverRequest): void {
  const bad = blocking(checks, req)
  if (bad.length === 0) return
  const first = bad[0]!
  throw refusal('PREFLIGHT_FAILED', `refusing the ${req.kind}: check "${first.id}" failed: ${first.detail}`,
    [...bad.map((b) => `${b.id}: ${b.detail}${b.override ? ` (override: ${b.override})` : ''}`), 'Nothing was changed.'], {checks})
}

function preconditionFrom(t: PgTarget, s: ClusterState, req: SwitchoverRequest): Precondition {
  return {
    id: 'cluster-unchanged',
    description: `leader is still ${s.leader?.name ?? 'absent'} and the ${req.kind} checks still pass`,
    observed: {leader: s.leader?.name ?? null, timeline: s.leader?.timeline ?? null, paused: s.paused},
    async check() {
      const now = await readClusterState(t.name, t.endpoints)
      if ((now.leader?.name ?? null) !== (s.leader?.name ?? null)) {
        return {ok: false, detail: `the leader changed from ${s.leader?.name ?? 'none'} to ${now.leader?.name ?? 'none'} since the plan was made`}
      }
      const bad = blocking(preflight(now, req), req)
      return bad.length ? {ok: false, detail: `${bad[0]!.id}: ${bad[0]!.detail}`} : {ok: true, detail: 'unchanged'}
    },
  }
}

/** What a saved switchover plan depends on: the leader, the timeline, each member's role and state, pause, a scheduled switchover. */
export function clusterFingerprint(s: ClusterState): Record<string, unknown> {
  return {leader: s.leader?.name ?? null, timeline: s.leader?.timeline ?? null, paused: s.paused, scheduled: s.scheduledSwitchover?.at ?? null,
    members: Object.fromEntries([...s.members].sort((a, b) => a.name.localeCompare(b.name)).map((m) => [m.name, `${m.role}/${m.state}`]))}
}

/** The plan, pure: from an observed cluster (readClusterState) to typed Patroni operations. */
export function planPostgresFailover(t: PgTarget, before: ClusterState, env: {name: string; protected: boolean}, opts: FailoverOptions): {plan: Plan; checks: Check[]} {
  const base = {command: 'failover postgres', env: env.name, protected: env.protected, confirmOnProtected: true, fingerprint: clusterFingerprint(before),
    observed: {leader: before.leader?.name ?? null, timeline: before.leader?.timeline ?? null, paused: before.paused, members: before.members.map((m) => `${m.name}:${m.role}/${m.state}`)}}
  const leaderApi = before.leader?.api
  const patronictl = patronictlOf(t)

  if (opts.cancel) {
    if (!before.scheduledSwitchover) throw refusal('NOTHING_SCHEDULED', `no switchover is scheduled on ${t.name}`, ['`vaultctl status --component postgres` shows the cluster.'])
    const endpoint = leaderApi ?? before.endpoint
    return {checks: [], plan: {...base, summary: `cancel the switchover scheduled at ${before.scheduledSwitchover.at}`, preconditions: [], steps: [
      {id: 'cancel-scheduled', title: `cancel the scheduled switchover (${before.scheduledSwitchover.at})`, risk: 'write',
        op: {kind: 'patroni.request', api: endpoint, method: 'DELETE', path: '/switchover', expect: [200], patronictl, ...restOf(t)}},
      {id: 'verify-cancelled', title: 'check that no switchover is scheduled any more', risk: 'read',
        op: {kind: 'patroni.await-scheduled', endpoints: t.endpoints, present: false, timeoutMs: 5000}},
    ]}}
  }

  const checks = preflight(before, opts)
  refuseOn(checks, opts)
  const oldTimeline = Math.max(before.leader?.timeline ?? 0, ...before.members.map((m) => m.timeline ?? 0))

  if (opts.kind === 'switchover' && opts.scheduledAt) {
    const body = {leader: before.leader!.name, ...(opts.candidate ? {candidate: opts.candidate} : {}), scheduled_at: opts.scheduledAt}
    return {checks, plan: {...base, summary: `schedule a switchover from ${before.leader!.name} to ${opts.candidate ?? 'the best replica'} at ${opts.scheduledAt}`,
      preconditions: [preconditionFrom(t, before, opts)], steps: [
        {id: 'schedule-switchover', title: `schedule the switchover at ${opts.scheduledAt}`, risk: 'write',
          op: {kind: 'patroni.request', api: leaderApi!, method: 'POST', path: '/switchover', body, expect: [202], patronictl, ...restOf(t)}},
        {id: 'verify-scheduled', title: 'check that /cluster shows the scheduled switchover', risk: 'read',
          op: {kind: 'patroni.await-scheduled', endpoints: t.endpoints, present: true, timeoutMs: 5000}},
      ]}}
  }

  const candidate = opts.candidate
  const action = opts.kind
  // A switchover goes to the leader's REST API (a replica would wait for the next HA loop);
  // a failover to the candidate's own API, since the leader is unhealthy.
  const target = action === 'switchover' ? leaderApi! : before.members.find((m) => m.name === candidate)?.api ?? before.endpoint
  const body: Record<string, string> = action === 'switchover' ? {leader: before.leader!.name, ...(candidate ? {candidate} : {})} : {candidate: candidate!}
  const steps: Step[] = [
    {
      id: `request-${action}`,
      title: action === 'switchover' ? `ask Patroni to switch the leader ${before.leader!.name} -> ${candidate ?? 'best replica'}` : `ask Patroni to FAIL OVER to ${candidate} (no healthy leader; committed data may be lost)`,
      risk: action === 'failover' ? 'destructive' : 'write',
      op: {kind: 'patroni.request', api: target, method: 'POST', path: action === 'switchover' ? '/switchover' : '/failover', body, expect: [200], patronictl, detach: true, ...restOf(t)},
    },
    {
      id: 'wait-writable-leader', title: `wait for a leader on a timeline after ${oldTimeline} that accepts a write`, risk: 'read',
      op: {kind: 'patroni.await-writable-leader', endpoints: t.endpoints, cluster: t.name, oldLeader: before.leader?.name ?? null, afterTimeline: oldTimeline,
        ...(candidate ? {candidate} : {}), user: t.user, database: t.database, timeoutMs: opts.timeoutMs},
    },
    {
      id: 'replicas', title: opts.waitReplicas ? 'wait until every other member streams from the new leader' : 'report the old leader and replicas', risk: 'read',
      op: {kind: 'patroni.await-replicas', endpoints: t.endpoints, cluster: t.name, oldLeader: before.leader?.name ?? null, wait: Boolean(opts.waitReplicas), timeoutMs: opts.timeoutMs, patronictl},
    },
  ]
  const summary = action === 'switchover'
    ? `switch over ${t.name}: leader ${before.leader!.name} -> ${candidate ?? 'the best replica (Patroni picks)'}`
    : `FAIL OVER ${t.name} to ${candidate}: there is no healthy leader; transactions committed on the old leader but not received by ${candidate} are lost`
  return {checks, plan: {...base, summary, preconditions: [preconditionFrom(t, before, opts)], steps, confirmOnProtected: true,
    recovery: 'Check `vaultctl status --component postgres`: Patroni finishes a switch it has started even when vaultctl stops waiting.'}}
}
