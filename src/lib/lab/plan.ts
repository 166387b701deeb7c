// Plans for `lab up` and `lab down`. The planner looks at what is already running and plans only
// what is missing; each step carries the command an operator would type to do it by hand.
import {join} from 'node:path'
import {pathExists, readText} from '../clients/files.js'
import {findOrphan, portInUse, whoListens} from '../clients/process.js'
import {refusal} from '../errors.js'
import type {Plan, Precondition, Step} from '../plan/types.js'
import {installCommands, requirements, binaryPath, PG_BIN_DIR, type Requirement} from './binaries.js'
import {pgControlData} from '../clients/pgctl.js'
import {startOrder} from './start-order.js'
import {labEnvironmentFile, labEnvironmentText} from './environment.js'
import {LAB_DIR_ENTRIES, PG_MEMBERS, REDIS_NODES, portOf, type PgMember, type LabComponent, type LabLayout, type S3Server} from './layout.js'
import {clusterFormed} from './redis-cluster.js'
import {
  LAB_BUCKETS, LAB_REGION, PATRONI_REST_USER, allServices, labCaFile, checkReady, isRunning, memberDir, memberName, patroniUrl,
  pidFile, secretFile, servicePort, spawnSpec, walArchiveDir, type ServiceName,
} from './services.js'
import {archiveCommand} from './archiving.js'
import {KUBE_SERVICES, KUBE_USERS, KWOK_LEASE_SECONDS, VELERO_FIXED_PORT, VELERO_NAMESPACE, kubeconfigFile, kubeconfigText, labNodes, pkiCommands, pkiDir, pkiFiles, veleroObjects} from './kubernetes.js'
import {veleroCrdsFile} from './binaries.js'

/** nodes.conf lists more than the node itself once the cluster has been formed. */
function clusterEverFormed(l: LabLayout): boolean {
  const text = readText(join(l.dir, 'redis-1', 'nodes.conf'))
  return text !== undefined && text.split('\n').filter((x) => /\b(master|slave)\b/.test(x)).length > 1
}

const redisConns = (l: LabLayout) => REDIS_NODES.map((i) => ({host: '127.0.0.1', port: portOf(l, `redis-${i}`)}))

function portFree(l: LabLayout, s: ServiceName, port: number, what: string = s): Precondition {
  return {
    id: `port-${what}`,
    description: `127.0.0.1:${port} is free for ${what}`,
    observed: {port},
    async check() {
      if (isRunning(l, s)) return {ok: true, detail: 'ours'}
      if (findOrphan(spawnSpec(l, s)) !== undefined) return {ok: true, detail: 'ours, left by an interrupted run (adopted at start)'}
      if (!(await portInUse(port))) return {ok: true, detail: 'free'}
      return {ok: false, detail: `port ${port} is taken by ${whoListens(port) ?? 'another process'}`,
        suggestions: [`Stop that process, or choose other ports: vaultctl lab up --base-port N (or --port ${s.replace(/^patroni/, 'patroni')}=PORT).`]}
    },
  }
}

function startStep(l: LabLayout, s: ServiceName, port: number, timeoutMs: number, leads = false): Step {
  return {
    id: `start-${s}`,
    title: leads ? `start ${s} first and wait until it leads (the most advanced member: no rewinds)` : `start ${s}`,
    risk: 'write',
    op: {kind: 'daemon.start', layout: l, service: s, spec: spawnSpec(l, s), port, timeoutMs, leads},
  }
}

export type LabUpOptions = {install: boolean}

export function missingBinaries(components: readonly LabComponent[], s3: S3Server[]): Requirement[] {
  return requirements(components, s3).filter((r) => !r.path)
}

export function installSteps(missing: Requirement[]): Step[] {
  return installCommands(missing).map((c, k) => ({id: `install-${k + 1}`, title: c.title, risk: 'write' as const,
    op: {kind: 'program.run', argv: c.argv, ...(c.env ? {env: c.env} : {}), timeoutMs: 30 * 60_000}}))
}

export async function planLabUp(l: LabLayout, opts: LabUpOptions): Promise<Plan> {
  const missing = missingBinaries(l.components, [l.s3Server])
  if (missing.length > 0 && !opts.install) {
    const cmds = installCommands(missing).map((c) => c.manual)
    throw refusal('LAB_MISSING_BINARY', `missing program${missing.length > 1 ? 's' : ''}: ${missing.map((m) => `${m.binary} (${m.neededFor})`).join(', ')}`,
      [`Install with: ${cmds.join(' && ')}`, 'or run `vaultctl lab up --install` to do it for you.'])
  }
  const running = Object.fromEntries(allServices(l).map((s) => [s, isRunning(l, s)])) as Record<ServiceName, boolean>
  const has = (c: LabComponent) => l.components.includes(c)
  const steps: Step[] = installSteps(missing)
  const pre: Precondition[] = []

  steps.push({id: 'prepare', title: `prepare ${l.dir}`, risk: 'write', op: {kind: 'lab.prepare', layout: l}})

  const want = (s: ServiceName, port: number, timeoutMs: number, leads = false) => {
    if (running[s]) return
    pre.push(portFree(l, s, port))
    // Redis Cluster also listens on its bus port, client port + 10000; a Patroni member's
    // PostgreSQL on its own port (a postmaster left behind would make the member start a
    // divergent history of its own).
    if (s.startsWith('redis-')) pre.push(portFree(l, s, port + 10_000, `${s} cluster bus`))
    if (s === 'kube-etcd') pre.push(portFree(l, s, l.ports['kube-etcd-peer'], `${s} peer`))
    // Velero's controller manager always serves its own metrics on :8080 (no flag): one lab with Velero per machine.
    if (s === 'velero') pre.push(portFree(l, s, VELERO_FIXED_PORT, 'velero\'s controller metrics (always :8080, no flag to move it: one lab with Velero per machine)'))
    if (s.startsWith('patroni-')) pre.push(portFree(l, s, portOf(l, `postgres-${s.split('-')[1]}` as 'postgres-1'), `${s}'s PostgreSQL`))
    steps.push(startStep(l, s, port, timeoutMs, leads))
  }
  // S3 first: PostgreSQL archives its WAL there from the start.
  if (has('s3')) planS3(l, want, steps)
  if (has('postgres')) planPostgres(l, running, want, steps, await memberStartOrder(l, running))
  if (has('redis')) await planRedis(l, running, want, steps)
  if (has('prometheus')) planPrometheus(l, want, steps)
  if (has('kubernetes')) planKubernetes(l, running, want, steps)
  steps.push({id: 'lab-environment', title: `write the lab environment to ${labEnvironmentFile(l)}`, risk: 'write',
    op: {kind: 'file.write', path: labEnvironmentFile(l), content: labEnvironmentText(l)}})

  const toStart = allServices(l).filter((s) => !running[s])
  return {
    command: 'lab up',
    env: 'lab',
    protected: false,
    summary: toStart.length === 0 ? `lab in ${l.dir} is already running; re-check buckets and environment` : `start ${toStart.length} lab service(s): ${toStart.join(', ')}`,
    observed: {dir: l.dir, components: l.components, running: allServices(l).filter((s) => running[s]), s3Server: l.s3Server},
    // A saved `lab up` plan applies while the same services are running (the ports are preconditions).
    fingerprint: {running: allServices(l).filter((s) => running[s]), missing: missing.map((m) => m.binary)},
    preconditions: pre,
    steps,
    recovery: `Logs are in ${join(l.dir, 'logs')}. \`vaultctl lab up\` is safe to re-run: it starts only what is missing.`,
  }
}

type Want = (s: ServiceName, port: number, timeoutMs: number, leads?: boolean) => void

/** Observed: the stopped members' positions (pg_controldata), most advanced first. */
async function memberStartOrder(l: LabLayout, running: Record<ServiceName, boolean>): Promise<{order: PgMember[]; leader?: PgMember}> {
  if (PG_MEMBERS.some((i) => running[`patroni-${i}`])) return {order: [...PG_MEMBERS]}
  const control = new Map(await Promise.all(PG_MEMBERS.map(async (i) => {
    const data = join(memberDir(l, i), 'data')
    return [i, pathExists(join(data, 'global', 'pg_control')) ? await pgControlData(PG_BIN_DIR, data) : undefined] as const
  })))
  const order = startOrder([...PG_MEMBERS], control) as PgMember[]
  // A new cluster (no data yet) is bootstrapped by whichever member starts first.
  return {order, leader: [...control.values()].some(Boolean) ? order[0] : undefined}
}

function planPostgres(l: LabLayout, running: Record<ServiceName, boolean>, want: Want, steps: Step[], start: {order: PgMember[]; leader?: PgMember}): void {
  want('etcd', l.ports.etcd, 20_000)
  for (const i of start.order) want(`patroni-${i}`, l.ports[`patroni-${i}`], 90_000, i === start.leader)
  if (PG_MEMBERS.some((i) => !running[`patroni-${i}`])) {
    steps.push({id: 'patroni-healthy', title: `wait for Patroni cluster ${l.cluster}: a leader and 2 streaming replicas`, risk: 'read',
      op: {kind: 'patroni.await-healthy', api: patroniUrl(l, 1), members: PG_MEMBERS.length, timeoutMs: 120_000, patronictlConfig: join(l.pgRoot, 'pg-1', 'patroni.yml')}})
  }
  steps.push({id: 'postgres-archiving', title: 'archive_command of the cluster: WAL to S3 through vaultctl wal push', risk: 'write',
    op: {kind: 'patroni.archive-command', apis: PG_MEMBERS.map((i) => patroniUrl(l, i)), archiveCommand: archiveCommand(l, walArchiveDir(l)), rest: {username: PATRONI_REST_USER, caFile: labCaFile(l)}}})
}

async function planRedis(l: LabLayout, running: Record<ServiceName, boolean>, want: Want, steps: Step[]): Promise<void> {
  for (const i of REDIS_NODES) want(`redis-${i}`, l.ports[`redis-${i}`], 15_000)
  const redisNew = REDIS_NODES.some((i) => !running[`redis-${i}`])
  const formed = redisNew ? false : await clusterFormed(redisConns(l))
  if (!formed) {
    steps.push({id: 'redis-cluster', title: 'form the Redis Cluster (3 masters + 3 replicas) or wait for it to heal', risk: 'write',
      op: {kind: 'redis.form-cluster', nodes: redisConns(l).map((c) => `${c.host}:${c.port}`), everFormed: clusterEverFormed(l), timeoutMs: 30_000}})
  }
}

function planS3(l: LabLayout, want: Want, steps: Step[]): void {
  want('s3', l.ports.s3, 90_000)
  steps.push({id: 's3-buckets', title: `buckets ${Object.values(LAB_BUCKETS).join(', ')} with versioning enabled`, risk: 'write',
    op: {kind: 's3.versioned-buckets', endpoint: `http://127.0.0.1:${l.ports.s3}`, region: LAB_REGION, buckets: Object.values(LAB_BUCKETS),
      accessKeyFile: secretFile(l, 's3-access-key'), secretKeyFile: secretFile(l, 's3-secret-key'), lifecycle: {bucket: LAB_BUCKETS.data, configuration: DATA_LIFECYCLE},
      // The audit trail cannot be rewritten (GOVERNANCE: the lab's own keys may still bypass it to purge).
      objectLock: {bucket: LAB_BUCKETS.audit, mode: 'GOVERNANCE', days: 1}}})
}

/**
 * The architecture's retention of dataset versions (its 8.1): previous versions 90 days; delete
 * markers go once nothing is left behind them (S3 cannot expire a marker after N days: its
 * "Expiration Days" would put a marker on every current object); abandoned multipart uploads 7 days.
 */
export const DATA_LIFECYCLE = {Rules: [{ID: 'vault-data-versions', Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 90},
  Expiration: {ExpiredObjectDeleteMarker: true}, AbortIncompleteMultipartUpload: {DaysAfterInitiation: 7}}]}

function planPrometheus(l: LabLayout, want: Want, steps: Step[]): void {
  if (!pathExists(join(l.dir, 'prometheus', 'backfilled'))) {
    steps.push({id: 'prometheus-backfill', title: 'generate 7 days of container CPU/memory metrics and backfill the TSDB', risk: 'write',
      op: {kind: 'prometheus.backfill', dir: join(l.dir, 'prometheus'), promtool: binaryPath('promtool') ?? 'promtool', days: 7, stepSeconds: 300}})
  }
  want('prometheus', l.ports.prometheus, 60_000)
}

/** Kubernetes: its PKI and kubeconfigs (once), etcd 3.6, the control plane, kwok, the node pools' nodes. */
function planKubernetes(l: LabLayout, running: Record<ServiceName, boolean>, want: Want, steps: Step[]): void {
  if (!pkiFiles(l).every((f) => pathExists(f))) {
    if (KUBE_SERVICES.some((s) => running[s])) {
      throw refusal('LAB_KUBE_PKI', `the lab's Kubernetes PKI in ${pkiDir(l)} is incomplete while its services run`, ['Stop them and start again: vaultctl lab down, then vaultctl lab up --with kubernetes.'])
    }
    steps.push({id: 'kube-pki-dir', title: `directory for the Kubernetes PKI ${pkiDir(l)}`, risk: 'write', op: {kind: 'program.run', argv: ['mkdir', '-p', '-m', '700', pkiDir(l)], timeoutMs: 10_000}})
    pkiCommands(l).forEach((c, i) => steps.push({id: `kube-pki-${i + 1}`, title: `PKI: ${c.title}`, risk: 'write', group: 'Kubernetes PKI (openssl)', op: {kind: 'program.run', argv: c.argv, timeoutMs: 30_000}}))
  }
  for (const who of KUBE_USERS) {
    steps.push({id: `kubeconfig-${who}`, title: `kubeconfig of ${who}`, risk: 'write', group: 'kubeconfigs', op: {kind: 'file.write', path: kubeconfigFile(l, who), content: kubeconfigText(l, who)}})
  }
  want('kube-etcd', l.ports['kube-etcd'], 30_000)
  want('kube-apiserver', l.ports['kube-apiserver'], 90_000)
  want('kube-controller-manager', l.ports['kube-controller-manager'], 60_000)
  want('kube-scheduler', l.ports['kube-scheduler'], 60_000)
  want('kwok', l.ports.kwok, 30_000)
  const nodes = labNodes(LAB_REGION)
  steps.push({id: 'kube-nodes', title: `${nodes.length} nodes (pools system, api, worker, data in zones a, b, c), Ready`, risk: 'write',
    op: {kind: 'kube.nodes', kubeconfig: kubeconfigFile(l), nodes, leaseSeconds: KWOK_LEASE_SECONDS, timeoutMs: 60_000}})
  if (!l.components.includes('s3')) return
  // Velero: its CRDs, namespace, storage location in the lab's backups bucket, its server (a local process).
  const cluster = {kubeconfig: kubeconfigFile(l)}
  steps.push({id: 'velero-crds', title: 'Velero\'s CRDs (server-side apply), Established', risk: 'write', op: {kind: 'kube.apply-file', cluster, file: veleroCrdsFile(), timeoutMs: 60_000}})
  steps.push({id: 'velero-objects', title: `Velero's namespace, storage location s3://${LAB_BUCKETS.backups}/velero, placeholder Deployment`, risk: 'write',
    op: {kind: 'kube.apply', cluster, objects: veleroObjects(l, LAB_BUCKETS.backups, LAB_REGION)}})
  want('velero', l.ports['velero-metrics'], 60_000)
  steps.push({id: 'velero-location', title: 'Velero\'s storage location Available', risk: 'read',
    op: {kind: 'velero.await-location', cluster, namespace: VELERO_NAMESPACE, name: 'default', timeoutMs: 60_000}})
}

export function planLabDown(l: LabLayout, opts: {purge: boolean; leader?: string}): Plan {
  // Replicas before the leader (no needless failover); S3 after PostgreSQL, which archives its
  // last WAL while it shuts down (stopped first, that WAL stayed unarchived); etcd last.
  const pgOrder = [...PG_MEMBERS].sort((a, b) => Number(memberName(a) === opts.leader) - Number(memberName(b) === opts.leader))
  const order: ServiceName[] = ['velero', 'kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'kube-etcd', 'prometheus', ...REDIS_NODES.map((i) => `redis-${i}` as const).reverse(), ...pgOrder.map((i) => `patroni-${i}` as const), 's3', 'etcd']
  const steps: Step[] = order.filter((s) => allServices(l).includes(s) && (isRunning(l, s) || findOrphan(spawnSpec(l, s)) !== undefined)).flatMap((s): Step[] => {
    const {command, cwd} = spawnSpec(l, s)
    const stop: Step = {id: `stop-${s}`, title: `stop ${s}`, risk: 'write', op: {kind: 'daemon.stop', service: s, pidFile: pidFile(l, s), command, ...(cwd ? {cwd} : {}), timeoutMs: s.startsWith('patroni') ? 60_000 : 15_000}}
    if (!s.startsWith('patroni-')) return [stop]
    // Patroni in maintenance mode (paused) does not stop PostgreSQL when it exits.
    return [stop, {id: `stop-${s}-postgres`, title: `stop ${s}'s PostgreSQL if a paused Patroni left it running`, risk: 'write',
      op: {kind: 'pg.stop-if-running', dataDir: join(memberDir(l, Number(s.split('-')[1])), 'data'), binDir: PG_BIN_DIR}}]
  })
  if (opts.purge) {
    steps.push({id: 'purge', title: `delete all lab data in ${l.dir} and ${l.pgRoot}`, risk: 'destructive',
      op: {kind: 'lab.purge', dir: l.dir, pgRoot: l.pgRoot, pidFiles: allServices(l).map((s) => pidFile(l, s)), entries: LAB_DIR_ENTRIES}})
  }
  const stopped = steps.filter((s) => s.op?.kind === 'daemon.stop').length
  return {
    command: 'lab down', env: 'lab', protected: false,
    summary: `${stopped === 0 ? 'nothing is running' : `stop ${stopped} lab service(s)`}${opts.purge ? ' and delete all lab data' : ''}`,
    observed: {dir: l.dir, running: order.filter((s) => isRunning(l, s))},
    preconditions: [], steps,
  }
}

export type LabServiceStatus = {service: ServiceName; pid?: number; port: number; running: boolean; ready: boolean; detail: string}

export async function labStatus(l: LabLayout): Promise<LabServiceStatus[]> {
  const {runningPid} = await import('../clients/process.js')
  return Promise.all(allServices(l).map(async (s) => {
    const pid = runningPid(pidFile(l, s))
    const port = servicePort(l, s)
    if (pid === undefined) return {service: s, port, running: false, ready: false, detail: 'not running'}
    const r = await checkReady(l, s)
    return {service: s, pid, port, running: true, ready: r.ready, detail: r.detail}
  }))
}
