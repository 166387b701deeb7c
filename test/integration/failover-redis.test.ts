// `vaultctl failover redis` against the lab's real Redis Cluster.
import {describe, expect, it} from 'vitest'
import {redisCommand} from '../../src/lib/clients/redis.js'
import type {FailoverRedisResult} from '../../src/commands/failover/redis.js'
import {parseClusterNodes, type ClusterNode} from '../../src/lib/redis/cluster.js'
import {eventually, labCli, labPorts, labUpIfFailed, pidOf, status} from '../helpers/lab.js'

const nodes = async (): Promise<ClusterNode[]> => {
  for (const [k, port] of Object.entries(labPorts())) {
    if (!k.startsWith('redis-')) continue
    try {
      return parseClusterNodes(String(await redisCommand({host: '127.0.0.1', port}, 'CLUSTER', 'NODES')))
    } catch {
      // next
    }
  }
  throw new Error('no redis node answers')
}
const roles = async () => Object.fromEntries((await nodes()).map((n) => [n.address, n.role === 'master' ? 'master' : `replica of ${n.masterId}`]))
const healthy = async () => (await status(['--component', 'redis'])).code === 0
const failover = async (args: string[]) => {
  const r = await labCli(['failover', 'redis', '--json', ...args])
  return {code: r.code, res: r.json<FailoverRedisResult & {error?: {code: string; message: string; suggestions: string[]}}>()}
}
const serviceOf = (address: string) => Object.entries(labPorts()).find(([k, p]) => k.startsWith('redis-') && p === Number(address.split(':')[1]))![0]
const conn = (address: string) => ({host: '127.0.0.1', port: Number(address.split(':')[1])})

describe('failover redis', () => {
  it('--dry-run shows CLUSTER FAILOVER to the replica and changes no role', async () => {
    await eventually('healthy', 60_000, healthy)
    const before = await roles()
    const master = (await nodes()).find((n) => n.role === 'master')!
    const {code, res} = await failover(['--master', master.address, '--dry-run'])
    expect(code).toBe(0)
    expect(res.plan.steps[0]?.manual).toMatch(/^redis-cli -h 127\.0\.0\.1 -p \d+ CLUSTER FAILOVER$/)
    expect(await roles()).toEqual(before)
  })

  it('default mode from --master: picks a replica, promotes it, every node agrees', async () => {
    await eventually('healthy', 60_000, healthy)
    const all = await nodes()
    const master = all.find((n) => n.role === 'master')!
    const {code, res} = await failover(['--master', master.address])
    expect(code).toBe(0)
    const replica = all.find((n) => n.address === res.replica)!
    expect(replica.masterId).toBe(master.id)
    expect(res.after?.find((r) => r.address === res.replica)).toMatchObject({role: 'master', slots: master.slotCount})
    expect(res.after?.find((r) => r.address === master.address)).toMatchObject({role: 'replica', master: res.replica})
    expect(res.agreedAfterSeconds).toBeLessThan(15)
    expect(await healthy()).toBe(true)
  })

  it('refuses a master given as --replica, a replica given as --master, and unknown nodes (exit 3)', async () => {
    await eventually('healthy', 60_000, healthy)
    const all = await nodes()
    const master = all.find((n) => n.role === 'master')!
    const replica = all.find((n) => n.role === 'replica')!
    const a = await failover(['--replica', master.address])
    expect(a.code).toBe(3)
    expect(a.res.error?.message).toMatch(/is a master: CLUSTER FAILOVER must be sent to one of its replicas/)
    expect(a.res.error?.suggestions.join(' ')).toContain(`--master ${master.address}`)
    const b = await failover(['--master', replica.address])
    expect(b.code).toBe(3)
    expect(b.res.error?.suggestions.join(' ')).toContain(`--replica ${replica.address}`)
    const c = await failover(['--replica', '127.0.0.1:1'])
    expect(c.code).toBe(3)
    expect(c.res.error?.code).toBe('UNKNOWN_NODE')
    const d = await labCli(['failover', 'redis'])
    expect(d.code).toBe(2)
  })

  it('a master that is down: default refused with force/takeover explained; --mode force promotes its replica', async () => {
    labUpIfFailed()
    await eventually('healthy', 60_000, healthy)
    const all = await nodes()
    const master = all.find((n) => n.role === 'master')!
    const replica = all.find((n) => n.masterId === master.id)!
    // Keep the cluster from failing over by itself, so that the manual path is what is tested.
    await redisCommand(conn(replica.address), 'CONFIG', 'SET', 'cluster-replica-no-failover', 'yes')
    try {
      process.kill(pidOf(serviceOf(master.address)), 'SIGKILL')
      const refused = await failover(['--replica', replica.address])
      expect(refused.code).toBe(3)
      expect(refused.res.error?.code).toBe('MASTER_DOWN')
      expect(refused.res.error?.suggestions.join(' ')).toMatch(/--mode force: .*majority.*--mode takeover/s)
      const {code, res} = await failover(['--replica', replica.address, '--mode', 'force', '--yes'])
      expect(code).toBe(0)
      expect(res.plan.steps[0]?.manual).toMatch(/CLUSTER FAILOVER FORCE$/)
      expect(res.after?.find((r) => r.address === replica.address)?.role).toBe('master')
    } finally {
      await redisCommand(conn(replica.address), 'CONFIG', 'SET', 'cluster-replica-no-failover', 'no')
    }
    expect((await labCli(['lab', 'up'])).code).toBe(0)
    await eventually('old master back as a replica', 60_000, async () => (await nodes()).find((n) => n.id === master.id)?.masterId === replica.id && healthy())
  })

  it('--mode takeover promotes without agreement (destructive: needs --yes)', async () => {
    await eventually('healthy', 60_000, healthy)
    const replica = (await nodes()).find((n) => n.role === 'replica')!
    expect((await failover(['--replica', replica.address, '--mode', 'takeover'])).code).toBe(3)
    const {code, res} = await failover(['--replica', replica.address, '--mode', 'takeover', '--yes'])
    expect(code).toBe(0)
    expect(res.after?.find((r) => r.address === replica.address)?.role).toBe('master')
    await eventually('healthy', 30_000, healthy)
  })
})
