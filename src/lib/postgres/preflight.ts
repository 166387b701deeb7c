// The checks before a switchover or failover, as pure functions of a cluster snapshot, so each
// refusal is exact and unit-tested. A failed check names itself and how to override it.
import {formatBytes} from '../units.js'
import type {ClusterState, MemberState} from './cluster-state.js'
import {healthyLeader} from './cluster-state.js'
import {isHealthyState} from './roles.js'

export type Check = {id: string; ok: boolean; detail: string; override?: string}

export type SwitchoverRequest = {
  kind: 'switchover' | 'failover'
  candidate?: string
  leader?: string
  maxLagBytes: number
  force: boolean
}

function candidateChecks(s: ClusterState, c: MemberState, req: SwitchoverRequest): Check[] {
  const checks: Check[] = []
  checks.push({id: 'candidate-healthy', ok: isHealthyState(c.state) && c.reachable,
    detail: `candidate ${c.name} is ${c.state}${c.reachable ? '' : ', its Patroni API does not answer'}`})
  checks.push({id: 'candidate-nofailover', ok: !c.nofailover, detail: c.nofailover ? `candidate ${c.name} is tagged nofailover` : `${c.name} may be promoted`})
  if (req.kind === 'switchover') {
    const lag = Math.max(c.lagBytes ?? 0, c.replayLagBytes ?? 0)
    const lagKnown = c.lagBytes !== undefined || c.replayLagBytes !== undefined
    checks.push({id: 'candidate-lag', ok: lagKnown && lag <= req.maxLagBytes && !c.replayPaused,
      detail: !lagKnown ? `lag of ${c.name} is unknown` : `${c.name} is ${formatBytes(lag)} behind the leader (limit ${formatBytes(req.maxLagBytes)})${c.replayPaused ? '; WAL replay is PAUSED on it' : ''}`,
      override: '--max-lag SIZE to raise the limit, or --force to switch anyway (the candidate replays what it has received before it is promoted)'})
    if (s.synchronousMode) {
      checks.push({id: 'synchronous-mode', ok: s.syncStandbys.includes(c.name),
        detail: `synchronous_mode is on; sync standbys: ${s.syncStandbys.join(', ') || 'none'}`,
        override: `choose a sync standby as --candidate (${s.syncStandbys.join(', ') || 'none available'})`})
    }
  }
  return checks
}

/** Every check, in order. The first failing check without an applicable override refuses the plan. */
export function preflight(s: ClusterState, req: SwitchoverRequest): Check[] {
  const checks: Check[] = []
  const leader = s.leader
  if (req.kind === 'switchover') {
    checks.push({id: 'leader-healthy', ok: healthyLeader(s), detail: leader ? `leader ${leader.name} is ${leader.state}${leader.reachable ? '' : ' but its API does not answer'}` : 'the cluster has no leader',
      override: 'with no healthy leader use --failover --candidate NAME (it can lose committed data)'})
    if (req.leader) checks.push({id: 'leader-match', ok: leader?.name === req.leader, detail: `--leader ${req.leader}; the leader is ${leader?.name ?? 'nobody'}`})
  } else {
    checks.push({id: 'no-healthy-leader', ok: !healthyLeader(s), detail: healthyLeader(s) ? `${leader!.name} is a healthy leader` : 'no healthy leader',
      override: 'use a switchover (drop --failover), which keeps committed data; or --force to fail over anyway'})
  }
  checks.push({id: 'not-paused', ok: !s.paused, detail: s.paused ? 'the cluster is paused (maintenance mode)' : 'not paused',
    override: 'resume it first (`patronictl resume`), or --force with --candidate'})
  if (req.candidate) {
    const c = s.members.find((m) => m.name === req.candidate)
    checks.push({id: 'candidate-exists', ok: Boolean(c), detail: c ? `${c.name} is a member` : `no member named ${req.candidate}; members: ${s.members.map((m) => m.name).join(', ')}`})
    if (c) {
      checks.push({id: 'candidate-not-leader', ok: c.role !== 'leader', detail: c.role === 'leader' ? `${c.name} is already the leader` : `${c.name} is a ${c.role}`})
      checks.push(...candidateChecks(s, c, req))
    }
  } else if (req.kind === 'switchover') {
    const eligible = s.members.filter((m) => m.role === 'replica' && candidateChecks(s, m, req).every((x) => x.ok))
    checks.push({id: 'any-candidate', ok: eligible.length > 0, detail: eligible.length ? `eligible: ${eligible.map((m) => m.name).join(', ')}` : 'no replica is healthy, promotable and within the lag limit',
      override: '--candidate NAME with --force'})
  }
  return checks
}

/** Checks that --force may override (lag, pause, an existing healthy leader for --failover). */
const FORCEABLE = new Set(['candidate-lag', 'not-paused', 'no-healthy-leader', 'any-candidate'])

export function blocking(checks: Check[], req: Pick<SwitchoverRequest, 'force' | 'candidate'>): Check[] {
  // Patroni itself only switches a paused cluster to a named candidate.
  const forceable = (id: string) => FORCEABLE.has(id) && (id !== 'not-paused' || Boolean(req.candidate))
  return checks.filter((c) => !c.ok && !(req.force && forceable(c.id)))
}
