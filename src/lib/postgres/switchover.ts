// Plans for Patroni switchover, failover, scheduled switchover and its cancellation. Success is
// verified, not assumed: the new leader must be on a new timeline and accept a write.
import {deleteScheduledSwitchover, postAction, type PatroniActionResponse} from '../clients/patroni.js'
import {writableTimeline, type PgConn} from '../clients/postgres.js'
import {errorMessage, failure, refusal, timedOut} from '../errors.js'
import type {Plan, Precondition, Step} from '../plan/types.js'
import {firstCluster, readClusterState, type ClusterState} from './cluster-state.js'
import {blocking, preflight, type Check, type SwitchoverRequest} from './preflight.js'
import {isHealthyState, normalizeRole} from './roles.js'

export type PgTarget = {name: string; endpoints: string[]; user: string; database: string; password?: string; patroniConfigHint?: string}

export type FailoverOptions = SwitchoverRequest & {
  scheduledAt?: string
  cancel?: boolean
  timeoutMs: number
  waitReplicas: boolean
}

/** What the steps learn, read back by the command for its result. */
export type SwitchoverOutcome = {
  startedAt?: number
  response?: PatroniActionResponse
  newLeader?: string
  newTimeline?: number
  writableAfterMs?: number
  replicasStreamingAfterMs?: number
  oldLeaderRejoined?: boolean | null
  after?: ClusterState
  notes: string[]
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const q = (s: string) => `'${s}'`

function patronictl(t: PgTarget, args: string): string {
  return `patronictl -c ${t.patroniConfigHint ?? '/etc/patroni/patroni.yml'} ${args}`
}

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

/** Poll until some member other than the old leader leads on a newer timeline and takes a write. */
async function waitWritableLeader(t: PgTarget, old: {leader?: string; timeline: number}, out: SwitchoverOutcome, opts: {candidate?: string; timeoutMs: number},
  pending: Promise<PatroniActionResponse> | undefined, note: (m: string) => void): Promise<void> {
  const t0 = out.startedAt!
  const deadline = t0 + opts.timeoutMs
  let settled: PatroniActionResponse | undefined
  pending?.then((r) => (settled = r), (e) => (settled = {status: 0, text: errorMessage(e)}))
  let last = 'no new leader yet'
  while (Date.now() < deadline) {
    if (settled && settled.status !== 200 && !/status unknown/i.test(settled.text)) {
      throw failure('PATRONI_REFUSED', `Patroni answered ${settled.status}: ${settled.text}`, ['Nothing was switched: the leader is unchanged. Fix what Patroni names and re-run.'])
    }
    if (settled && /status unknown/i.test(settled.text) && !out.notes.some((n) => n.includes('status unknown'))) {
      out.notes.push(`Patroni answered ${settled.status} "${settled.text}" after ${((Date.now() - t0) / 1000).toFixed(1)} s: it stopped waiting, the switch was still going on; kept polling /cluster`)
      note('Patroni stopped waiting ("status unknown"); still polling the cluster')
    }
    try {
      const {cluster} = await firstCluster(t.endpoints)
      const leader = cluster.members.find((m) => normalizeRole(m.role) === 'leader')
      if (leader && leader.name !== old.leader && leader.host && leader.port) {
        const conn: PgConn = {host: leader.host, port: leader.port, user: t.user, password: t.password, database: t.database}
        try {
          const w = await writableTimeline(conn, 1000)
          if (w.timeline > old.timeline) {
            out.writableAfterMs = Date.now() - t0
            out.newLeader = leader.name
            out.newTimeline = w.timeline
            if (opts.candidate && leader.name !== opts.candidate) out.notes.push(`Patroni promoted ${leader.name}, not the requested ${opts.candidate}`)
            return
          }
          last = `${leader.name} leads but is still on timeline ${w.timeline}`
        } catch (error) {
          last = `${leader.name} leads but does not take writes yet (${errorMessage(error)})`
        }
      } else last = leader ? `${leader.name} still leads` : 'no leader at this moment'
    } catch (error) {
      last = errorMessage(error)
    }
    note(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${last}`)
    await sleep(100)
  }
  throw timedOut('SWITCHOVER_UNVERIFIED', `no writable leader on a new timeline within ${opts.timeoutMs / 1000} s (last: ${last})`,
    ['The switch may still be in progress: run `vaultctl status --component postgres` before doing anything else.', 'Raise --timeout to wait longer.'])
}

async function observeReplicas(t: PgTarget, oldLeader: string | undefined, out: SwitchoverOutcome, wait: boolean, timeoutMs: number, note: (m: string) => void): Promise<void> {
  const t0 = out.startedAt!
  const deadline = Date.now() + (wait ? timeoutMs : 0)
  for (;;) {
    const s = await readClusterState(t.name, t.endpoints)
    out.after = s
    const others = s.members.filter((m) => m.name !== out.newLeader)
    const streaming = others.filter((m) => m.role === 'replica' && isHealthyState(m.state) && (m.timeline ?? 0) >= (out.newTimeline ?? 0))
    const old = s.members.find((m) => m.name === oldLeader)
    out.oldLeaderRejoined = oldLeader === undefined || !old ? null : old.role === 'replica' && isHealthyState(old.state)
    if (streaming.length === others.length) {
      out.replicasStreamingAfterMs = Date.now() - t0
      return
    }
    if (Date.now() >= deadline) {
      if (wait) out.notes.push(`not every replica streams on timeline ${out.newTimeline} yet: ${others.filter((m) => !streaming.includes(m)).map((m) => `${m.name} ${m.role}/${m.state}`).join(', ')}`)
      return
    }
    note(`waiting for replicas: ${others.map((m) => `${m.name} ${m.role}/${m.state}`).join(', ')}`)
    await sleep(200)
  }
}

export async function planPostgresFailover(t: PgTarget, env: {name: string; protected: boolean}, opts: FailoverOptions, out: SwitchoverOutcome): Promise<{plan: Plan; before: ClusterState; checks: Check[]}> {
  const before = await readClusterState(t.name, t.endpoints)
  const base = {command: 'failover postgres', env: env.name, protected: env.protected, confirmOnProtected: true, observed: {leader: before.leader?.name ?? null, timeline: before.leader?.timeline ?? null, paused: before.paused, members: before.members.map((m) => `${m.name}:${m.role}/${m.state}`)}}
  const leaderApi = before.leader?.api

  if (opts.cancel) {
    if (!before.scheduledSwitchover) throw refusal('NOTHING_SCHEDULED', `no switchover is scheduled on ${t.name}`, ['`vaultctl status --component postgres` shows the cluster.'])
    const endpoint = leaderApi ?? before.endpoint
    return {before, checks: [], plan: {...base, summary: `cancel the switchover scheduled at ${before.scheduledSwitchover.at}`, preconditions: [], steps: [{
      id: 'cancel-scheduled', title: `cancel the scheduled switchover (${before.scheduledSwitchover.at})`, risk: 'write',
      manual: `curl -s -XDELETE ${endpoint}/switchover   # or: ${patronictl(t, `flush ${t.name} switchover --force`)}`,
      async run() {
        const r = await deleteScheduledSwitchover(endpoint)
        out.response = r
        if (r.status !== 200) throw new Error(`Patroni answered ${r.status}: ${r.text}`)
      },
      async verify() {
        const {cluster} = await firstCluster(t.endpoints)
        if (cluster.scheduled_switchover) throw new Error('a switchover is still scheduled')
      },
    }]}}
  }

  const checks = preflight(before, opts)
  refuseOn(checks, opts)
  const oldTimeline = Math.max(before.leader?.timeline ?? 0, ...before.members.map((m) => m.timeline ?? 0))

  if (opts.kind === 'switchover' && opts.scheduledAt) {
    const body = {leader: before.leader!.name, ...(opts.candidate ? {candidate: opts.candidate} : {}), scheduled_at: opts.scheduledAt}
    return {before, checks, plan: {...base, summary: `schedule a switchover from ${before.leader!.name} to ${opts.candidate ?? 'the best replica'} at ${opts.scheduledAt}`,
      preconditions: [preconditionFrom(t, before, opts)], steps: [{
        id: 'schedule-switchover', title: `schedule the switchover at ${opts.scheduledAt}`, risk: 'write',
        manual: `curl -s -XPOST ${leaderApi}/switchover -d ${q(JSON.stringify(body))}   # or: ${patronictl(t, `switchover ${t.name} --leader ${body.leader}${opts.candidate ? ` --candidate ${opts.candidate}` : ''} --scheduled ${opts.scheduledAt} --force`)}`,
        async run() {
          const r = await postAction(leaderApi!, 'switchover', body)
          out.response = r
          if (r.status !== 202) throw new Error(`Patroni answered ${r.status}: ${r.text}`)
          return {detail: r.text}
        },
        async verify() {
          const {cluster} = await firstCluster(t.endpoints)
          if (!cluster.scheduled_switchover) throw new Error('Patroni accepted the request but /cluster shows no scheduled switchover')
        },
      }]}}
  }

  const candidate = opts.candidate
  const action = opts.kind
  // A switchover goes to the leader's REST API (a replica would wait for the next HA loop);
  // a failover to the candidate's own API, since the leader is unhealthy.
  const target = action === 'switchover' ? leaderApi! : before.members.find((m) => m.name === candidate)?.api ?? before.endpoint
  const body: Record<string, string> = action === 'switchover' ? {leader: before.leader!.name, ...(candidate ? {candidate} : {})} : {candidate: candidate!}
  const controller = new AbortController()
  let pending: Promise<PatroniActionResponse> | undefined
  const steps: Step[] = [
    {
      id: `request-${action}`,
      title: action === 'switchover' ? `ask Patroni to switch the leader ${before.leader!.name} -> ${candidate ?? 'best replica'}` : `ask Patroni to FAIL OVER to ${candidate} (no healthy leader; committed data may be lost)`,
      risk: action === 'failover' ? 'destructive' : 'write',
      manual: `curl -s -XPOST ${target}/${action} -d ${q(JSON.stringify(body))}   # or: ${patronictl(t, action === 'switchover' ? `switchover ${t.name} --leader ${body.leader}${candidate ? ` --candidate ${candidate}` : ''} --force` : `failover ${t.name} --candidate ${candidate} --force`)}`,
      async run() {
        out.startedAt = Date.now()
        pending = postAction(target, action, body, controller.signal)
        // Refusals (412) come back at once; success takes a moment: do not wait for it here.
        const early = await Promise.race([pending.catch((e: Error) => ({status: 0, text: e.message})), sleep(150).then(() => undefined)])
        if (early) {
          out.response = early
          if (early.status !== 200 && !/status unknown/i.test(early.text)) {
            throw failure('PATRONI_REFUSED', `Patroni answered ${early.status}: ${early.text}`, ['Nothing was switched. Fix what Patroni names and re-run.'])
          }
        }
        return {detail: early ? `${early.status} ${early.text}` : 'sent'}
      },
    },
    {
      id: 'wait-writable-leader',
      title: `wait for a leader on a timeline after ${oldTimeline} that accepts a write`,
      risk: 'read',
      manual: `watch -n0.5 "curl -s ${before.endpoint}/cluster; psql -h NEW_LEADER_HOST -p NEW_LEADER_PORT -U ${t.user} -c 'select txid_current()'"`,
      async run(ctx) {
        try {
          await waitWritableLeader(t, {leader: before.leader?.name, timeline: oldTimeline}, out, {candidate, timeoutMs: opts.timeoutMs}, pending, ctx.note)
        } finally {
          if (pending) {
            const r = await Promise.race([pending.catch(() => undefined), sleep(0).then(() => undefined)])
            if (r) out.response = r
            else controller.abort()
          }
        }
        return {detail: `${out.newLeader} writable on timeline ${out.newTimeline} after ${(out.writableAfterMs! / 1000).toFixed(2)} s`}
      },
    },
    {
      id: 'replicas',
      title: opts.waitReplicas ? 'wait until every other member streams from the new leader' : 'report the old leader and replicas',
      risk: 'read',
      manual: patronictl(t, `list ${t.name}`),
      async run(ctx) {
        await observeReplicas(t, before.leader?.name, out, opts.waitReplicas, opts.timeoutMs, ctx.note)
        return {detail: out.replicasStreamingAfterMs !== undefined ? `all replicas streaming after ${(out.replicasStreamingAfterMs / 1000).toFixed(2)} s` : 'not all replicas streaming yet'}
      },
    },
  ]
  const summary = action === 'switchover'
    ? `switch over ${t.name}: leader ${before.leader!.name} -> ${candidate ?? 'the best replica (Patroni picks)'}`
    : `FAIL OVER ${t.name} to ${candidate}: there is no healthy leader; transactions committed on the old leader but not received by ${candidate} are lost`
  return {before, checks, plan: {...base, summary, preconditions: [preconditionFrom(t, before, opts)], steps, confirmOnProtected: true,
    recovery: 'Check `vaultctl status --component postgres`: Patroni finishes a switch it has started even when vaultctl stops waiting.'}}
}

