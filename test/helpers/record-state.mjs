// Records the observed state planners are fed, from a running lab, as JSON fixtures for the unit
// tests of pure planners (after a build): node test/helpers/record-state.mjs LAB_DIR
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {readClusterState} from '../../dist/lib/postgres/cluster-state.js'
import {readTopology} from '../../dist/lib/redis/topology.js'
import {setPatroniAccess} from '../../dist/lib/clients/patroni.js'

const dir = process.argv[2] ?? '/tmp/vaultctl-test-lab'
const {ports} = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8'))
setPatroniAccess(() => ({username: 'vaultctl', password: readFileSync(join(dir, 'secrets', 'patroni-rest'), 'utf8').trim(), caFile: join(dir, 'tls', 'ca.crt')}))
const out = (name, value) => writeFileSync(new URL(`../fixtures/state/${name}`, import.meta.url), JSON.stringify(value, null, 2) + '\n')
const pg = await readClusterState('vault-lab', [1, 2, 3].map((i) => `https://127.0.0.1:${ports[`patroni-${i}`]}`))
out('patroni-cluster.json', pg)
const t = await readTopology([1, 2, 3, 4, 5, 6].map((i) => `127.0.0.1:${ports[`redis-${i}`]}`))
out('redis-views.json', t.views)
console.log(`recorded: leader ${pg.leader?.name} on timeline ${pg.leader?.timeline}; ${t.nodes.length} redis nodes`)

// What a restore is planned from: the side restore to the latest WAL, and the restore into the
// cluster (secrets are not part of either state).
const {loadConfig, resolveEnvironment} = await import('../../dist/lib/config/load.js')
const {restoreSource} = await import('../../dist/lib/restore/run.js')
const {observeSide} = await import('../../dist/lib/restore/observe.js')
const {observeIntoCluster} = await import('../../dist/lib/restore/into-cluster.js')
const r = resolveEnvironment(loadConfig(join(dir, 'vaultctl.yaml')), 'lab')
const {src, restoresRoot, osUser} = restoreSource(r)
const opts = {target: {kind: 'latest'}, restoresRoot, osUser, timeoutMs: 600_000}
out('restore-side.json', await observeSide(src, opts))
out('restore-into-cluster.json', await observeIntoCluster(src, opts))
console.log(`recorded: restore states (restores in ${restoresRoot})`)
