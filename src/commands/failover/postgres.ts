import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../lib/errors.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {memberRows, readClusterState, type MemberRow} from '../../lib/postgres/cluster-state.js'
import type {Check} from '../../lib/postgres/preflight.js'
import {switchoverOutcome, switchoverReport} from '../../lib/postgres/report.js'
import {planPostgresFailover} from '../../lib/postgres/switchover.js'
import {patroniTarget} from '../../lib/postgres/target.js'
import {durationFlag, instantFlag, sizeFlag} from '../../lib/flags.js'

export type FailoverPostgresResult = {
  dryRun: boolean
  kind: 'switchover' | 'failover' | 'scheduled-switchover' | 'cancel'
  cluster: string
  checks: Check[]
  plan: PlanData
  before: MemberRow[]
  after?: MemberRow[]
  oldLeader: string | null
  newLeader?: string
  oldTimeline: number | null
  newTimeline?: number
  writableAfterSeconds?: number
  replicasStreamingAfterSeconds?: number
  oldLeaderRejoined?: boolean | null
  patroni?: {status: number; text: string}
  notes: string[]
  execution?: ExecutionResult
}

export default class FailoverPostgres extends BaseCommand<typeof FailoverPostgres> {
  static override summary = 'Patroni switchover (default), failover (--failover), scheduled switchover and its cancellation; verified'
  static override description = 'Preflight from GET /cluster (leader, pause, candidate health, nofailover, lag, synchronous mode); refuses with exit 3 naming the failed check. Success means the new leader is on a new timeline and accepts a write. Works with Patroni 3 and 4.'
  static override examples = [
    '<%= config.bin %> failover postgres --dry-run',
    '<%= config.bin %> failover postgres --candidate pg-2',
    '<%= config.bin %> failover postgres --scheduled-at 2026-12-01T02:00:00Z',
    '<%= config.bin %> failover postgres --cancel',
    '<%= config.bin %> failover postgres --failover --candidate pg-3 --confirm prod',
  ]
  static override flags = {
    candidate: Flags.string({description: 'member to promote (default: the best replica, as Patroni picks)'}),
    leader: Flags.string({description: 'expected current leader; refuse if it is not (a guard against acting on a stale view)'}),
    'scheduled-at': instantFlag({description: 'schedule the switchover at this ISO 8601 time, with its UTC offset (e.g. 2026-12-01T02:00:00Z)'}),
    cancel: Flags.boolean({description: 'cancel a scheduled switchover'}),
    failover: Flags.boolean({description: 'fail over when there is no healthy leader (requires --candidate; committed data may be lost)'}),
    'max-lag': sizeFlag({description: 'the most a candidate may lag, e.g. 16MiB (default: the environment\'s slo.replicationLagBytes.warn)'}),
    force: Flags.boolean({description: 'override the lag, pause and healthy-leader checks (the refusal names which apply)'}),
    timeout: durationFlag({description: 'how long to wait for a writable leader', default: '60s'}),
    'wait-replicas': Flags.boolean({description: 'also wait until every other member streams from the new leader'}),
  }

  async run(): Promise<FailoverPostgresResult> {
    const f = this.flags
    if (f.failover && !f.candidate) throw usageError('CANDIDATE_REQUIRED', '--failover needs --candidate NAME: with no healthy leader, say which member to promote')
    if (f.cancel && (f.failover || f['scheduled-at'] || f.candidate)) throw usageError('USAGE', '--cancel takes no --candidate, --failover or --scheduled-at')
    if (f['scheduled-at']) {
      if (f.failover) throw usageError('USAGE', 'a failover cannot be scheduled; only a switchover')
      if (f['scheduled-at'].getTime() <= Date.now()) throw usageError('PAST_TIME', `--scheduled-at ${f['scheduled-at'].toISOString()} is in the past`)
    }
    const timeout = f.timeout
    const {name, env} = this.environment()
    const maxLag = f['max-lag'] ?? env.slo.replicationLagBytes.warn
    const target = patroniTarget(env, name)
    const before = await readClusterState(target.name, target.endpoints)
    const {plan, checks} = planPostgresFailover(target, before, {name, protected: env.protected}, {
      kind: f.failover ? 'failover' : 'switchover', candidate: f.candidate, leader: f.leader, maxLagBytes: maxLag, force: f.force,
      scheduledAt: f['scheduled-at']?.toISOString(), cancel: f.cancel, timeoutMs: timeout * 1000, waitReplicas: f['wait-replicas'],
    })
    const kind = f.cancel ? 'cancel' : f['scheduled-at'] ? 'scheduled-switchover' : f.failover ? 'failover' : 'switchover'
    const result = await this.runPlan(plan, {secrets: {pgPassword: target.password}})
    const out = switchoverOutcome(result.dryRun ? undefined : result.execution)
    if (!result.dryRun) this.out(switchoverReport(before, out))
    return {
      dryRun: result.dryRun, kind, cluster: target.name, checks, plan: result.plan,
      before: memberRows(before), ...(out.after ? {after: out.after} : {}),
      oldLeader: before.leader?.name ?? null, newLeader: out.newLeader, oldTimeline: before.leader?.timeline ?? null, newTimeline: out.newTimeline,
      writableAfterSeconds: out.writableAfterMs === undefined ? undefined : out.writableAfterMs / 1000,
      replicasStreamingAfterSeconds: out.replicasStreamingAfterMs === undefined ? undefined : out.replicasStreamingAfterMs / 1000,
      oldLeaderRejoined: out.oldLeaderRejoined, patroni: out.response, notes: out.notes,
      ...(result.dryRun ? {} : {execution: result.execution}),
    }
  }
}
