import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveSecret} from '../../lib/config/secrets.js'
import {usageError} from '../../lib/errors.js'
import type {ExecutionResult, PlanData} from '../../lib/plan/types.js'
import {planRedisFailover, type RedisFailoverMode} from '../../lib/redis/failover.js'
import {isDown, readTopology, type Topology} from '../../lib/redis/topology.js'
import type {OperationResult} from '../../lib/plan/operations.js'
import {stepResult} from '../../lib/plan/results.js'
import {table} from '../../lib/table.js'
import {durationFlag} from '../../lib/flags.js'

type NodeRow = {address: string; role: string; master?: string; slots: number; down: boolean}

const rowsOf = (t: Topology): NodeRow[] => t.nodes.map((n) => ({address: n.address, role: n.role, master: t.nodes.find((m) => m.id === n.masterId)?.address, slots: n.slotCount, down: isDown(t, n)}))
  .sort((a, b) => a.address.localeCompare(b.address))
const showRows = (rows: NodeRow[]) => table(['NODE', 'ROLE', 'MASTER', 'SLOTS', 'UP'], rows.map((r) => [r.address, r.role, r.master ?? '', String(r.slots), r.down ? 'NO' : 'yes']))

export type FailoverRedisResult = {
  dryRun: boolean
  mode: RedisFailoverMode
  replica: string
  oldMaster: string
  before: NodeRow[]
  after?: NodeRow[]
  ownViewAfterSeconds?: number
  agreedAfterSeconds?: number
  plan: PlanData
  execution?: ExecutionResult
}

export default class FailoverRedis extends BaseCommand<typeof FailoverRedis> {
  static override summary = 'Redis Cluster manual failover (CLUSTER FAILOVER sent to a replica), verified on every node'
  static override description = 'default waits for the replica to catch up (safe); force skips the master handshake (master down; needs a majority of masters); takeover needs no agreement (majority gone). Verified when every reachable node agrees on the new master, cluster_state is ok and all 16384 slots are covered.'
  static override examples = [
    '<%= config.bin %> failover redis --master 10.0.1.20:6379 --dry-run',
    '<%= config.bin %> failover redis --replica 10.0.2.21:6379',
    '<%= config.bin %> failover redis --replica 10.0.2.21:6379 --mode force --yes',
  ]
  static override flags = {
    replica: Flags.string({description: 'the replica to promote, HOST:PORT', exactlyOne: ['replica', 'master']}),
    master: Flags.string({description: 'the master to replace, HOST:PORT: vaultctl picks its healthiest replica (link up, smallest offset lag)', exactlyOne: ['replica', 'master']}),
    mode: Flags.string({description: 'default (safe), force (master down) or takeover (majority down)', options: ['default', 'force', 'takeover'], default: 'default'}),
    timeout: durationFlag({description: 'how long to wait for every node to agree', default: '15s'}),
  }

  async run(): Promise<FailoverRedisResult> {
    const {name, env} = this.environment()
    if (!env.redis) throw usageError('NO_REDIS', `environment "${name}" has no redis section`, ['Add redis: {nodes: [HOST:PORT, ...]} to the config.'])
    const password = env.redis.passwordFrom ? resolveSecret(env.redis.passwordFrom, 'redis.passwordFrom') : undefined
    const mode = this.flags.mode as RedisFailoverMode
    const before = await readTopology(env.redis.nodes, password)
    const {plan, replica, master} = planRedisFailover(before, {name, protected: env.protected},
      {replica: this.flags.replica, master: this.flags.master, mode, timeoutMs: this.flags.timeout * 1000}, password)
    const result = await this.runPlan(plan, {secrets: {redisPassword: password}})
    const done = result.dryRun ? undefined : stepResult<OperationResult['redis.await-failover']>(result.execution, 'verify-agreement')
    const after = result.dryRun ? undefined : await readTopology(env.redis.nodes, password)
    if (after && done) {
      this.out(['Before:', showRows(rowsOf(before)), '', 'After:', showRows(rowsOf(after)), '',
        `${replica.address} is master; ${master.address} ${!isDown(after, master) ? 'follows it' : 'is down and will follow it when it returns'}.`,
        `Promoted replica saw itself master after ${done.ownViewAfterMs ?? '?'} ms; all nodes agreed after ${done.agreedAfterMs} ms.`].join('\n'))
    }
    return {
      dryRun: result.dryRun, mode, replica: replica.address, oldMaster: master.address, before: rowsOf(before), ...(after ? {after: rowsOf(after)} : {}),
      ...(done ? {ownViewAfterSeconds: done.ownViewAfterMs === null ? undefined : done.ownViewAfterMs / 1000, agreedAfterSeconds: done.agreedAfterMs / 1000} : {}),
      plan: result.plan, ...(result.dryRun ? {} : {execution: result.execution}),
    }
  }
}
