// `vaultctl status` against the lab's real Patroni, Redis Cluster, S3 servers and Prometheus.
import {inject, describe, expect, it} from 'vitest'
import {instantQuery} from '../../src/lib/clients/prometheus.js'
import {getCluster} from '../../src/lib/clients/patroni.js'
import {redisCommand} from '../../src/lib/clients/redis.js'
import {parseClusterNodes} from '../../src/lib/redis/cluster.js'
import {eventually, labCli, labPorts, labUpIfFailed, pidOf, rows, status} from '../helpers/lab.js'

let problems = ''
/** status exits 0; otherwise what it flagged is kept for the failure message. */
const healthy = async () => {
  const {code, res} = await status()
  problems = (res.components ?? []).flatMap((c) => c.rows.filter((r) => r.rating !== 'ok').map((r) => `${c.component} ${r.name}: ${r.rating} ${r.state} (${r.detail})`)).join('; ')
  return code === 0
}
const becomesHealthy = (what: string, ms: number) => eventually(what, ms, healthy).catch((e: Error) => {
  throw new Error(`${e.message}; status still flags: ${problems || 'nothing (it did not answer)'}`)
})

describe('status on a healthy lab', () => {
  it('is all ok, exit 0, with the real topology', async () => {
    await becomesHealthy('lab healthy', 60_000)
    const {code, res} = await status()
    expect(code).toBe(0)
    expect(res.rating).toBe('ok')
    expect(res.counts.crit + res.counts.warn).toBe(0)
    const pg = rows(res, 'postgres')
    expect(pg.filter((r) => r.role === 'leader')).toHaveLength(1)
    expect(pg.filter((r) => r.role === 'replica')).toHaveLength(2)
    expect(pg.find((r) => r.role === 'cluster')?.facts).toMatchObject({paused: false, members: 3})
    for (const r of pg.filter((x) => x.role === 'replica')) expect(r.facts?.lagBytes).toBeTypeOf('number')
    const redis = rows(res, 'redis')
    expect(redis.find((r) => r.role === 'cluster')?.facts).toMatchObject({clusterState: 'ok', slotsOk: 16_384, knownNodes: 6})
    expect(redis.filter((r) => r.role === 'master')).toHaveLength(3)
    expect(redis.filter((r) => r.role === 'replica')).toHaveLength(3)
    expect(rows(res, 's3').map((r) => r.state)).toEqual(['versioning Enabled', 'versioning Enabled', 'versioning Enabled'])
    expect(rows(res, 'prometheus')[0]?.state).toBe('ready')
  })

  it('--component limits the view, and the human table goes to stdout only without --json', async () => {
    const {res} = await status(['--component', 'redis'])
    expect(res.components.map((c) => c.component)).toEqual(['redis'])
    const human = await labCli(['status', '--component', 'postgres'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/POSTGRES: ok/)
    expect(human.stdout).toMatch(/pg-1|pg-2|pg-3/)
  })

  it('Prometheus serves the backfilled container metrics of every vault workload', async () => {
    const url = `http://127.0.0.1:${labPorts().prometheus}`
    const at = new Date(Date.now() - 2 * 3600_000)
    const pods = await instantQuery(url, 'count(container_memory_working_set_bytes) by (namespace)', at)
    const {VAULT_WORKLOADS} = await import('../../src/lib/lab/metrics.js')
    const want: Record<string, number> = {}
    for (const w of VAULT_WORKLOADS) want[w.namespace] = (want[w.namespace] ?? 0) + w.replicas
    expect(Object.fromEntries(pods.map((p) => [p.metric.namespace, Number(p.value[1])]))).toEqual(want)
    expect(want).toEqual({'llm-vault-prod': 18, 'llm-vault-data': 11, 'llm-vault-jobs': 2})
    const day = await instantQuery(url, 'sum(rate(container_cpu_usage_seconds_total{container="worker"}[1h]))', new Date(Date.now() - 26 * 3600_000))
    expect(Number(day[0]?.value[1])).toBeGreaterThan(0)
  })
})

describe('status finds what is broken', () => {
  it('a stopped Patroni member is crit (exit 1), and `lab up` brings it back', async () => {
    labUpIfFailed()
    await becomesHealthy('lab healthy', 60_000)
    const ports = labPorts()
    const cluster = await getCluster(`https://127.0.0.1:${ports['patroni-1']}`)
    const replica = cluster.members.find((m) => m.role === 'replica')!
    const service = `patroni-${replica.name.split('-')[1]}`
    process.kill(pidOf(service), 'SIGTERM')
    await eventually(`${replica.name} reported crit`, 60_000, async () => {
      const {code, res} = await status(['--component', 'postgres'])
      return code === 1 && rows(res, 'postgres').some((r) => (r.name === replica.name || r.name.endsWith(`:${ports[service]}`)) && r.rating === 'crit')
    })
    const up = await labCli(['lab', 'up'])
    expect(up.code).toBe(0)
    await becomesHealthy('lab healthy again', 90_000)
  })

  it('a killed Redis replica is crit (exit 1), and `lab up` brings it back', async () => {
    labUpIfFailed()
    await becomesHealthy('lab healthy', 60_000)
    const ports = labPorts()
    const nodes = parseClusterNodes(String(await redisCommand({host: '127.0.0.1', port: ports['redis-1']!}, 'CLUSTER', 'NODES')))
    const replica = nodes.find((n) => n.role === 'replica')!
    const port = Number(replica.address.split(':')[1])
    const service = Object.entries(ports).find(([k, p]) => k.startsWith('redis-') && p === port)![0]
    // Asked afterwards: a node other than the one killed (any node may be a replica by now).
    const witness = nodes.find((n) => n.id !== replica.id)!.address.split(':')[1]
    process.kill(pidOf(service), 'SIGKILL')
    const {code, res} = await status(['--component', 'redis'])
    expect(code).toBe(1)
    const row = rows(res, 'redis').find((r) => r.name === replica.address)!
    expect(row.rating).toBe('crit')
    expect(row.detail).toMatch(/does not answer/)
    // The rest of the cluster also flags it once node-timeout (2 s) passes.
    await eventually('cluster flags the dead replica', 20_000, async () => {
      const n = parseClusterNodes(String(await redisCommand({host: '127.0.0.1', port: Number(witness)}, 'CLUSTER', 'NODES')))
      return n.find((x) => x.id === replica.id)?.failing === true
    })
    const up = await labCli(['lab', 'up'])
    expect(up.code).toBe(0)
    await becomesHealthy('lab healthy again', 60_000)
  })
})

describe.each([
  ['minio', () => inject('labDir')],
  ['moto', () => inject('motoLabDir')],
])('S3 bucket versioning on %s', (server, dirOf) => {
  it('suspended versioning is warn (exit 1); enabled again is ok', async (ctx) => {
    const dir = dirOf()
    if (!dir) return ctx.skip(`${server} lab not started: VAULTCTL_TEST_SKIP_MOTO=1 was set`)
    const {s3Client} = await import('../../src/lib/clients/s3.js')
    const {PutBucketVersioningCommand} = await import('@aws-sdk/client-s3')
    const {labSecret} = await import('../helpers/lab.js')
    const client = await s3Client({endpoint: `http://127.0.0.1:${labPorts(dir).s3}`, region: 'us-east-1', forcePathStyle: true,
      accessKeyId: labSecret('s3-access-key', dir), secretAccessKey: labSecret('s3-secret-key', dir)})
    try {
      const before = await status(['--component', 's3'], dir)
      expect(before.code).toBe(0)
      // (the audit bucket has Object Lock on MinIO: its versioning cannot be suspended at all)
      await client.send(new PutBucketVersioningCommand({Bucket: 'vault-data', VersioningConfiguration: {Status: 'Suspended'}}))
      const {code, res} = await status(['--component', 's3'], dir)
      expect(code).toBe(1)
      expect(rows(res, 's3').find((r) => r.name === 'vault-data')).toMatchObject({rating: 'warn', state: 'versioning Suspended'})
      expect(rows(res, 's3').find((r) => r.name === 'vault-audit')?.rating).toBe('ok')
    } finally {
      await client.send(new PutBucketVersioningCommand({Bucket: 'vault-data', VersioningConfiguration: {Status: 'Enabled'}}))
      client.destroy()
    }
    expect((await status(['--component', 's3'], dir)).code).toBe(0)
  })
})
