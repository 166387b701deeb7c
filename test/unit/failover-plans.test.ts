// Observe, then plan: the failover planners are pure functions of a recorded state (JSON taken
// from the lab with test/helpers/record-state.mjs). State in, exact operations out.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {planData} from '../../src/lib/plan/data.js'
import type {ClusterState} from '../../src/lib/postgres/cluster-state.js'
import {clusterFingerprint, planPostgresFailover, type PgTarget} from '../../src/lib/postgres/switchover.js'
import {planRedisFailover, redisFingerprint} from '../../src/lib/redis/failover.js'
import {planBackupCreate} from '../../src/lib/backup/base.js'
import {topologyOf, type NodeView} from '../../src/lib/redis/topology.js'

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/state/${name}`, import.meta.url), 'utf8')) as T
const cluster = () => fixture<ClusterState>('patroni-cluster.json')
const t: PgTarget = {name: 'vault-lab', endpoints: ['http://127.0.0.1:14008', 'http://127.0.0.1:14009', 'http://127.0.0.1:14010'], user: 'postgres', database: 'postgres', patroniConfigHint: '/lab/pg-1/patroni.yml'}
const env = {name: 'lab', protected: false}
const base = {kind: 'switchover' as const, maxLagBytes: 16 * 1024 * 1024, force: false, timeoutMs: 60_000, waitReplicas: true}
const patronictl = {config: '/lab/pg-1/patroni.yml', cluster: 'vault-lab'}

describe('failover postgres plans (recorded: pg-1 leads timeline 3)', () => {
  it('a switchover to a candidate: the request to the leader, then the waits', () => {
    const {plan} = planPostgresFailover(t, cluster(), env, {...base, candidate: 'pg-2'})
    expect(plan.steps.map((s) => s.op)).toEqual([
      {kind: 'patroni.request', api: 'http://127.0.0.1:14008', method: 'POST', path: '/switchover', body: {leader: 'pg-1', candidate: 'pg-2'}, expect: [200], patronictl, detach: true},
      {kind: 'patroni.await-writable-leader', endpoints: t.endpoints, cluster: 'vault-lab', oldLeader: 'pg-1', afterTimeline: 3, candidate: 'pg-2', user: 'postgres', database: 'postgres', timeoutMs: 60_000},
      {kind: 'patroni.await-replicas', endpoints: t.endpoints, cluster: 'vault-lab', oldLeader: 'pg-1', wait: true, timeoutMs: 60_000, patronictl},
    ])
    const data = planData(plan)
    expect(data.typed).toBe(true)
    expect(data.steps[0]!.manual).toBe(`curl -s -XPOST http://127.0.0.1:14008/switchover -d '{"leader":"pg-1","candidate":"pg-2"}'   # or: patronictl -c /lab/pg-1/patroni.yml switchover vault-lab --leader pg-1 --candidate pg-2 --force`)
    expect(plan.fingerprint).toEqual({leader: 'pg-1', timeline: 3, paused: false, scheduled: null, members: {'pg-1': 'leader/running', 'pg-2': 'replica/running', 'pg-3': 'replica/running'}})
  })

  it('with Patroni REST over HTTPS with a password: the printed curl names the CA and the user, never the password', () => {
    const secure: PgTarget = {...t, endpoints: t.endpoints.map((e) => e.replace('http:', 'https:')), rest: {username: 'vaultctl', caFile: '/etc/my ca.crt'}}
    const {plan} = planPostgresFailover(secure, cluster(), env, {...base, candidate: 'pg-2'})
    expect(plan.steps[0]!.op).toMatchObject({rest: {username: 'vaultctl', caFile: '/etc/my ca.crt'}})
    expect(planData(plan).steps[0]!.manual).toMatch(/^curl -s --cacert '\/etc\/my ca\.crt' -u vaultctl:"\$PATRONI_REST_PASSWORD" -XPOST http:\/\/127\.0\.0\.1:14008\/switchover -d /)   // (the member api_url recorded)
  })
  it('a failover goes to the candidate\'s own API and is destructive; a scheduled switchover and its cancellation', () => {
    const f = planPostgresFailover(t, cluster(), env, {...base, kind: 'failover', candidate: 'pg-3', force: true}).plan
    expect(f.steps[0]).toMatchObject({risk: 'destructive', op: {api: 'http://127.0.0.1:14010', path: '/failover', body: {candidate: 'pg-3'}}})
    const s = planPostgresFailover(t, cluster(), env, {...base, scheduledAt: '2026-12-01T02:00:00.000Z'}).plan
    expect(s.steps.map((x) => x.op)).toEqual([
      {kind: 'patroni.request', api: 'http://127.0.0.1:14008', method: 'POST', path: '/switchover', body: {leader: 'pg-1', scheduled_at: '2026-12-01T02:00:00.000Z'}, expect: [202], patronictl},
      {kind: 'patroni.await-scheduled', endpoints: t.endpoints, present: true, timeoutMs: 5000},
    ])
    const scheduled = {...cluster(), scheduledSwitchover: {at: '2026-12-01T02:00:00+00:00', from: 'pg-1'}}
    expect(planPostgresFailover(t, scheduled, env, {...base, cancel: true}).plan.steps[0]!.op).toEqual({kind: 'patroni.request', api: 'http://127.0.0.1:14008', method: 'DELETE', path: '/switchover', expect: [200], patronictl})
    expect(() => planPostgresFailover(t, cluster(), env, {...base, cancel: true})).toThrow(/no switchover is scheduled/)
  })
  it('refuses from the state alone: a paused cluster, an unknown candidate', () => {
    expect(() => planPostgresFailover(t, {...cluster(), paused: true}, env, base)).toThrow(/refusing the switchover/)
    expect(() => planPostgresFailover(t, cluster(), env, {...base, candidate: 'pg-9'})).toThrow(/refusing the switchover/)
  })
  it('fingerprints what a saved plan depends on', () => {
    const c = cluster()
    const swapped = {...c, leader: {...c.leader!, name: 'pg-2'}}
    expect(clusterFingerprint(swapped)).not.toEqual(clusterFingerprint(c))
  })
})

describe('failover redis plans (recorded: 3 masters, 3 replicas)', () => {
  const topology = () => topologyOf(fixture<NodeView[]>('redis-views.json'))
  it('--master picks its replica; CLUSTER FAILOVER, then the wait for every node', () => {
    const master = topology().nodes.find((n) => n.address === '127.0.0.1:14701')!
    const replica = topology().nodes.find((n) => n.masterId === master.id)!
    const {plan} = planRedisFailover(topology(), env, {master: master.address, mode: 'default', timeoutMs: 15_000})
    expect(plan.steps.map((s) => s.op)).toEqual([
      {kind: 'redis.command', node: replica.address, args: ['CLUSTER', 'FAILOVER'], expect: 'OK'},
      {kind: 'redis.await-failover', nodes: topology().views.map((v) => v.address), replica: {id: replica.id, address: replica.address}, oldMaster: {id: master.id, address: master.address, slots: master.slotCount}, timeoutMs: 15_000},
    ])
    expect(planData(plan).steps[0]!.manual).toBe(`redis-cli -h 127.0.0.1 -p ${replica.address.split(':')[1]} CLUSTER FAILOVER`)
    expect(plan.steps[0]!.risk).toBe('write')
    expect(planRedisFailover(topology(), env, {replica: replica.address, mode: 'force', timeoutMs: 15_000}).plan.steps[0]).toMatchObject({risk: 'destructive', op: {args: ['CLUSTER', 'FAILOVER', 'FORCE']}})
  })
  it('refuses a master given as --replica, naming its replicas', () => {
    expect(() => planRedisFailover(topology(), env, {replica: '127.0.0.1:14701', mode: 'default', timeoutMs: 15_000})).toThrow(/is a master: CLUSTER FAILOVER must be sent to one of its replicas/)
  })
  it('fingerprints roles, masters and slots', () => {
    expect(Object.values(redisFingerprint(topology())).filter((v) => String(v).startsWith('master'))).toHaveLength(3)
  })
})

describe('backup create plan (recorded cluster)', () => {
  it('takes the backup from a streaming replica, then the manifest, then marks the end on the leader', () => {
    const s3 = {endpoint: 'http://127.0.0.1:14900', region: 'us-east-1', forcePathStyle: true}
    const loc = {bucket: 'vault-backups', prefix: 'postgres/', cluster: 'vault-lab'}
    const compression = {method: 'zstd' as const, level: 3, workers: 2}
    const plan = planBackupCreate(t, cluster(), '/usr/lib/postgresql/15/bin', s3, loc, env, 16 * 1024 * 1024, compression)
    expect(plan.steps.map((s) => s.op)).toEqual([
      {kind: 'pg.basebackup-to-s3', source: {member: 'pg-2', role: 'replica', host: '127.0.0.1', port: 14433}, user: 'postgres', binDir: '/usr/lib/postgresql/15/bin', s3, bucket: 'vault-backups', basePrefix: 'postgres/vault-lab/base/', cluster: 'vault-lab', compression},
      {kind: 'backup.write-manifest', s3, bucket: 'vault-backups', basePrefix: 'postgres/vault-lab/base/'},
      {kind: 'backup.mark-end', leader: {member: 'pg-1', host: '127.0.0.1', port: 14432}, user: 'postgres', database: 'postgres'},
    ])
    expect(planData(plan).steps[0]!.manual).toMatch(/^ID=\$\(date -u \+%Y%m%dT%H%M%SZ\); PGPASSWORD=\.\.\. \/usr\/lib\/postgresql\/15\/bin\/pg_basebackup -h 127\.0\.0\.1 -p 14433 -U postgres .* --compress=server-zstd:level=3,workers=2 --no-manifest --label vaultctl-\$ID --verbose \| aws s3 cp - s3:\/\/vault-backups\/postgres\/vault-lab\/base\/"\$ID\/base\.tar\.zst"$/)
    expect(plan.fingerprint).toEqual({source: 'pg-2', role: 'replica', leader: 'pg-1', timeline: 3, compression: 'zstd'})
    // lz4 at its own default level; none: a plain tar, no --compress, the manifest pg_basebackup injects kept
    const lz4 = planData(planBackupCreate(t, cluster(), undefined, s3, loc, env, 16 * 1024 * 1024, {method: 'lz4'})).steps[0]!.manual
    expect(lz4).toContain('--compress=server-lz4:level=1 --no-manifest')
    expect(lz4).toMatch(/"\$ID\/base\.tar\.lz4"$/)
    const none = planData(planBackupCreate(t, cluster(), undefined, s3, loc, env, 16 * 1024 * 1024, {method: 'none'})).steps[0]!.manual
    expect(none).not.toContain('--compress')
    expect(none).toMatch(/"\$ID\/base\.tar"$/)
  })
  it('refuses when no member is healthy enough', () => {
    const c = cluster()
    const down = {...c, members: c.members.map((m) => ({...m, state: 'stopped'}))}
    expect(() => planBackupCreate(t, down, undefined, {region: 'us-east-1', forcePathStyle: true}, {bucket: 'b', prefix: 'p/', cluster: 'vault-lab'}, env, 1)).toThrow(/no healthy member/)
  })
})
