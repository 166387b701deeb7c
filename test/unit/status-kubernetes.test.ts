// Rating a cluster view (pure): pools and zones, workloads, PDB headroom, Velero against the RPO.
import {describe, expect, it} from 'vitest'
import type {ClusterView} from '../../src/lib/clients/kube.js'
import {rateCluster} from '../../src/lib/status/kubernetes.js'

const now = new Date('2026-11-27T12:00:00Z')
const node = (name: string, pool: string, zone: string, ready = true) => ({name, ready, labels: {'vaultctl.io/pool': pool, 'topology.kubernetes.io/zone': zone}})
const base: ClusterView = {
  nodes: [node('a1', 'api', 'z-a'), node('a2', 'api', 'z-b'), node('d1', 'data', 'z-a'), node('d2', 'data', 'z-a', false), node('w1', 'worker', 'z-c', false)],
  workloads: [{kind: 'Deployment', namespace: 'app', name: 'api', desired: 3, ready: 3}, {kind: 'StatefulSet', namespace: 'data', name: 'pg', desired: 3, ready: 1},
    {kind: 'Deployment', namespace: 'app', name: 'worker', desired: 2, ready: 0}],
  pdbs: [{namespace: 'app', name: 'api', allowed: 1, healthy: 3, desiredHealthy: 2}, {namespace: 'data', name: 'pg', allowed: 0, healthy: 1, desiredHealthy: 2}],
  backups: [{name: 'daily-1', phase: 'Completed', completedAt: '2026-11-27T02:00:00Z', schedule: 'daily'}, {name: 'daily-0', phase: 'PartiallyFailed', completedAt: '2026-11-26T02:00:00Z'}],
}

describe('kubernetes status', () => {
  it('rates pools by Ready nodes and zones, workloads by ready replicas, PDBs by headroom', () => {
    const rows = rateCluster(base, 86_400, now)
    expect(rows.map((r) => [r.name, r.state, r.rating])).toEqual([
      ['api', '2/2 Ready', 'ok'], ['data', '1/2 Ready', 'warn'], ['worker', '0/1 Ready', 'crit'],
      ['app/api', '3/3 ready', 'ok'], ['data/pg', '1/3 ready', 'warn'], ['app/worker', '0/2 ready', 'crit'],
      ['app/api', '1 disruption(s) allowed', 'ok'], ['data/pg', '0 disruption(s) allowed', 'warn'],
      ['velero', 'last completed 10h0m ago', 'ok'], // daily-0 failed, but daily-1 completed after it
    ])
    expect(rows.find((r) => r.name === 'data')?.detail).toMatch(/single zone/)
  })

  it('Velero: a last backup older than the RPO, none usable, or not installed is critical', () => {
    expect(rateCluster({...base, backups: [{name: 'old', phase: 'Completed', completedAt: '2026-11-25T02:00:00Z'}]}, 86_400, now).at(-1)).toMatchObject({rating: 'crit', state: 'last completed 58h0m ago'})
    expect(rateCluster({...base, backups: [{name: 'x', phase: 'Completed', completedAt: '2026-11-27T02:00:00Z', expiresAt: '2026-11-27T03:00:00Z'}]}, 86_400, now).at(-1)).toMatchObject({rating: 'crit', state: 'no completed backup'})
    const failedSince = rateCluster({...base, backups: [...base.backups!, {name: 'adhoc', phase: 'Failed', createdAt: '2026-11-27T09:00:00Z'}]}, 86_400, now).at(-1)
    expect(failedSince).toMatchObject({rating: 'warn', state: 'last completed 10h0m ago'})
    expect(failedSince?.detail).toContain('1 failed since')
    const {backups: _none, ...noVelero} = base
    expect(rateCluster(noVelero, 86_400, now).at(-1)).toMatchObject({name: 'velero', state: 'not installed', rating: 'crit'})
  })
})
