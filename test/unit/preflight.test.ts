// Switchover/failover preflight and Redis replica choice: pure functions of a snapshot.
import {describe, expect, it} from 'vitest'
import type {ClusterState, MemberState} from '../../src/lib/postgres/cluster-state.js'
import {blocking, preflight, type SwitchoverRequest} from '../../src/lib/postgres/preflight.js'
import {normalizeRole} from '../../src/lib/postgres/roles.js'
import {parseClusterNodes} from '../../src/lib/redis/cluster.js'
import {chooseReplica, redisPreflight} from '../../src/lib/redis/failover.js'
import {agreement} from '../../src/lib/redis/agreement.js'
import type {NodeView, Topology} from '../../src/lib/redis/topology.js'

const member = (name: string, over: Partial<MemberState> = {}): MemberState =>
  ({name, role: 'replica', rawRole: 'replica', state: 'streaming', reachable: true, nofailover: false, lagBytes: 0, replayLagBytes: 0, timeline: 4, ...over})

function state(over: Partial<ClusterState> = {}, members?: MemberState[]): ClusterState {
  const ms = members ?? [member('pg-1', {role: 'leader', rawRole: 'primary', state: 'running'}), member('pg-2'), member('pg-3')]
  return {cluster: 'c', endpoint: 'http://x', members: ms, leader: ms.find((m) => m.role === 'leader'), paused: false, synchronousMode: false,
    syncStandbys: [], loopWait: 10, observedAt: '', ...over}
}
const req = (over: Partial<SwitchoverRequest> = {}): SwitchoverRequest => ({kind: 'switchover', maxLagBytes: 1024 ** 2, force: false, ...over})
const failed = (s: ClusterState, r: SwitchoverRequest) => blocking(preflight(s, r), r).map((c) => c.id)

describe('Patroni vocabulary', () => {
  it('maps 3.x and 4.x roles to one', () => {
    expect(['master', 'primary', 'leader'].map(normalizeRole)).toEqual(['leader', 'leader', 'leader'])
    expect(['replica', 'sync_standby'].map(normalizeRole)).toEqual(['replica', 'replica'])
  })
})

describe('switchover preflight', () => {
  it('passes a healthy cluster, named candidate or not', () => {
    expect(failed(state(), req())).toEqual([])
    expect(failed(state(), req({candidate: 'pg-2', leader: 'pg-1'}))).toEqual([])
  })
  it('names each failing check', () => {
    expect(failed(state(), req({leader: 'pg-3'}))).toEqual(['leader-match'])
    expect(failed(state(), req({candidate: 'pg-9'}))).toEqual(['candidate-exists'])
    expect(failed(state(), req({candidate: 'pg-1'}))).toContain('candidate-not-leader')
    expect(failed(state({paused: true}), req())).toEqual(['not-paused'])
    const s = state(undefined, [member('pg-1', {role: 'leader', state: 'running'}), member('pg-2', {nofailover: true}), member('pg-3', {state: 'stopped'})])
    expect(failed(s, req({candidate: 'pg-2'}))).toEqual(['candidate-nofailover'])
    expect(failed(s, req({candidate: 'pg-3'}))).toEqual(['candidate-healthy'])
    expect(failed(s, req())).toEqual(['any-candidate'])
  })
  it('lag: by received WAL, by unreplayed WAL, and paused replay; --force overrides', () => {
    const lagging = (over: Partial<MemberState>) => state(undefined, [member('pg-1', {role: 'leader', state: 'running'}), member('pg-2', over), member('pg-3')])
    expect(failed(lagging({lagBytes: 5 * 1024 ** 2}), req({candidate: 'pg-2'}))).toEqual(['candidate-lag'])
    expect(failed(lagging({replayLagBytes: 5 * 1024 ** 2}), req({candidate: 'pg-2'}))).toEqual(['candidate-lag'])
    expect(failed(lagging({replayPaused: true}), req({candidate: 'pg-2'}))).toEqual(['candidate-lag'])
    expect(failed(lagging({lagBytes: 5 * 1024 ** 2}), req({candidate: 'pg-2', maxLagBytes: 8 * 1024 ** 2}))).toEqual([])
    expect(failed(lagging({lagBytes: 5 * 1024 ** 2}), req({candidate: 'pg-2', force: true}))).toEqual([])
  })
  it('pause can be forced only with a named candidate (as Patroni requires)', () => {
    expect(failed(state({paused: true}), req({force: true}))).toEqual(['not-paused'])
    expect(failed(state({paused: true}), req({force: true, candidate: 'pg-2'}))).toEqual([])
  })
  it('synchronous mode: only a sync standby, never forced', () => {
    const s = state({synchronousMode: true, syncStandbys: ['pg-3']})
    expect(failed(s, req({candidate: 'pg-2', force: true}))).toEqual(['synchronous-mode'])
    expect(failed(s, req({candidate: 'pg-3'}))).toEqual([])
  })
  it('failover: refused while a healthy leader exists unless forced; fine without one', () => {
    expect(failed(state(), req({kind: 'failover', candidate: 'pg-2'}))).toEqual(['no-healthy-leader'])
    expect(failed(state(), req({kind: 'failover', candidate: 'pg-2', force: true}))).toEqual([])
    const dead = state(undefined, [member('pg-1', {role: 'leader', state: 'running', reachable: false}), member('pg-2'), member('pg-3')])
    expect(failed(dead, req({kind: 'failover', candidate: 'pg-2'}))).toEqual([])
    expect(failed(dead, req({candidate: 'pg-2'}))).toEqual(['leader-healthy'])
  })
})

// Six nodes: masters a,b,c; d,e replicate a, f replicates b. Captured layout, ids shortened.
const NODES = `a 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-5460
b 10.0.0.2:6379@16379 master - 0 0 2 connected 5461-10922
c 10.0.0.3:6379@16379 master - 0 0 3 connected 10923-16383
d 10.0.0.4:6379@16379 slave a 0 0 1 connected
e 10.0.0.5:6379@16379 slave a 0 0 1 connected
f 10.0.0.6:6379@16379 slave b 0 0 2 connected`

function topo(views: Partial<Record<string, Partial<NodeView>>> = {}, nodesText = NODES): Topology {
  const nodes = parseClusterNodes(nodesText)
  const all = nodes.map((n): NodeView => ({address: n.address, reachable: true, nodes, info: {cluster_state: 'ok', cluster_slots_ok: '16384'},
    replication: n.role === 'master' ? {role: 'master', master_repl_offset: '1000'} : {role: 'slave', master_link_status: 'up', slave_repl_offset: '1000'}, ...views[n.address]}))
  return {views: all, nodes, byAddress: new Map(nodes.map((n) => [n.address, n]))}
}

describe('redis failover choice and checks', () => {
  it('--master picks the replica with its link up and the smallest offset lag', () => {
    const t = topo({'10.0.0.4:6379': {replication: {role: 'slave', master_link_status: 'up', slave_repl_offset: '900'}}})
    expect(chooseReplica(t, {master: '10.0.0.1:6379', mode: 'default', timeoutMs: 1}).replica.address).toBe('10.0.0.5:6379')
    const t2 = topo({'10.0.0.5:6379': {replication: {role: 'slave', master_link_status: 'down', slave_repl_offset: '1000'}}})
    expect(chooseReplica(t2, {master: '10.0.0.1:6379', mode: 'default', timeoutMs: 1}).replica.address).toBe('10.0.0.4:6379')
  })
  it('refuses masters as --replica, replicas as --master, unknown nodes', () => {
    const t = topo()
    expect(() => chooseReplica(t, {replica: '10.0.0.1:6379', mode: 'default', timeoutMs: 1})).toThrow(/is a master.*10\.0\.0\.4:6379, 10\.0\.0\.5:6379/)
    expect(() => chooseReplica(t, {master: '10.0.0.4:6379', mode: 'default', timeoutMs: 1})).toThrow(/is a replica/)
    expect(() => chooseReplica(t, {replica: '10.9.9.9:6379', mode: 'default', timeoutMs: 1})).toThrow(/not a node of this cluster/)
  })
  it('default mode needs the master; force needs a majority of masters', () => {
    const t = topo({'10.0.0.1:6379': {reachable: false, error: 'ECONNREFUSED'}})
    const n = (a: string) => t.byAddress.get(a)!
    expect(() => redisPreflight(t, n('10.0.0.4:6379'), n('10.0.0.1:6379'), 'default')).toThrow(/is down: a default failover needs its handshake/)
    expect(() => redisPreflight(t, n('10.0.0.4:6379'), n('10.0.0.1:6379'), 'force')).not.toThrow()
    const t2 = topo({'10.0.0.1:6379': {reachable: false}, '10.0.0.2:6379': {reachable: false}})
    expect(() => redisPreflight(t2, t2.byAddress.get('10.0.0.4:6379')!, t2.byAddress.get('10.0.0.1:6379')!, 'force')).toThrow(/only 1 of 3 masters/)
    expect(() => redisPreflight(t2, t2.byAddress.get('10.0.0.4:6379')!, t2.byAddress.get('10.0.0.1:6379')!, 'takeover')).not.toThrow()
  })
  it('agreement needs every reachable node to see the new master and the old one following it', () => {
    const swapped = NODES.replace('a 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-5460', 'a 10.0.0.1:6379@16379 myself,slave d 0 0 4 connected')
      .replace('d 10.0.0.4:6379@16379 slave a 0 0 1 connected', 'd 10.0.0.4:6379@16379 master - 0 0 4 connected 0-5460')
    expect(agreement(topo({}, swapped), 'd', 'a', 5461).ok).toBe(true)
    const half = topo({}, swapped)
    half.views[1] = {...half.views[1]!, nodes: parseClusterNodes(NODES)}
    expect(agreement(half, 'd', 'a', 5461)).toEqual({ok: false, why: '10.0.0.2:6379 sees replica with 0 slots'})
  })
})
