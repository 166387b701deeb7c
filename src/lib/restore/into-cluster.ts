// `restore pitr --into cluster` for a Patroni cluster on hosts (the lab): the point-in-time data
// replaces the cluster's. The new data is restored and verified BESIDE the leader's data directory
// while the cluster still serves; only then is Patroni paused, PostgreSQL stopped on every member,
// the leader's data directory swapped (the old one is renamed, never deleted), PostgreSQL started
// through Patroni, checked, the replicas reinitialised from the new leader, and Patroni resumed.
// Every step can be re-run: a record outside the data directories says where it got to.
// observeIntoCluster reads the state; planIntoCluster is a pure function of it.
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {pathExists, readJsonFile} from '../clients/files.js'
import {errorMessage, refusal} from '../errors.js'
import {IntoClusterRecordFileSchema, type ClusterMember, type IntoClusterRecord} from '../plan/ops-restore.js'
import type {Plan, Precondition, Step} from '../plan/types.js'
import {readClusterState, type ClusterState} from '../postgres/cluster-state.js'
import {isHealthyState} from '../postgres/roles.js'
import type {Window} from '../backup/window.js'
import {walKey} from '../backup/layout.js'
import {describeTarget} from './target.js'
import {chooseSide, planSide, type PitrOptions, type PitrOutcome, type PitrSource, type SideState} from './pitr.js'
import {dataDirContent, observeSide, observeWindow} from './observe.js'

export type IntoClusterOutcome = PitrOutcome & {
  cluster?: {leader: string; dataDir: string; oldDataDir: string; timelineBefore: number; timeline?: number; replicas: {name: string; state?: string; timeline?: number}[]; resumed: boolean}
}

/** Files Patroni writes into a data directory; the restored one (cloned from whichever member the backup came from) gets the leader's. */
const MEMBER_FILES = ['postgresql.conf', 'postgresql.base.conf', 'pg_hba.conf', 'pg_ident.conf', 'patroni.dynamic.json']

type StoredRecord = IntoClusterRecord & {status: 'in-progress' | 'complete'; startedAt?: string; completedAt?: string}

export type IntoClusterState = {
  stateFile: string
  /** the unfinished record of an earlier run: a re-run continues from it */
  record?: StoredRecord
  cluster: ClusterState
  /** every member with its data directory (read over SQL) and whether that is on this machine; empty when continuing */
  members: (ClusterMember & {local: boolean})[]
  /** the slug of the restore's directories (the target, or for --latest the LSN it resolved to) */
  slug: string
  oldDirExists: boolean
  /** the side restore is complete, or already swapped in */
  sideDone: boolean
  side: SideState
}

/** Named after the cluster and its endpoints: two clusters may share a name (the lab and the test lab). */
export const stateFileOf = (src: PitrSource, restoresRoot: string) =>
  join(restoresRoot, `${src.cluster}-${createHash('sha256').update(src.endpoints.join(',')).digest('hex').slice(0, 8)}.into-cluster.json`)

const dirsOf = (leaderDataDir: string, slug: string) => ({restoredDir: `${leaderDataDir}.restore-${slug}`, oldDir: `${leaderDataDir}.pre-restore-${slug}`})

async function memberDirs(src: PitrSource, cluster: ClusterState): Promise<IntoClusterState['members']> {
  const {withPg} = await import('../clients/postgres.js')
  return Promise.all(cluster.members.map(async (m) => {
    if (!m.api || !m.host || !m.port) throw refusal('MEMBER_UNKNOWN', `member ${m.name} reports no REST API or PostgreSQL address`, ['Check it with `vaultctl status --component postgres`.'])
    let dataDir: string
    try {
      dataDir = await withPg({host: m.host, port: m.port, user: src.user, password: src.password, database: src.database},
        async (c) => (await c.query<{d: string}>(`select current_setting('data_directory') as d`)).rows[0]!.d)
    } catch (error) {
      throw refusal('MEMBER_UNREACHABLE', `cannot read the data directory of member ${m.name} (${m.host}:${m.port}): ${errorMessage(error)}`, ['Every member must be up to plan a restore into the cluster; or restore --into side.'])
    }
    return {name: m.name, api: m.api, host: m.host, port: m.port, dataDir, local: pathExists(join(dataDir, 'PG_VERSION'))}
  }))
}

export async function observeIntoCluster(src: PitrSource, opts: PitrOptions): Promise<IntoClusterState> {
  const stateFile = stateFileOf(src, opts.restoresRoot)
  // A completed restore's record is history: a new restore starts afresh (its own directories).
  const found: StoredRecord | undefined = readJsonFile(stateFile, IntoClusterRecordFileSchema)
  const record = found?.status === 'complete' ? undefined : found
  const cluster = await readClusterState(src.cluster, src.endpoints)
  const members = record ? [] : await memberDirs(src, cluster)
  const seen = await observeWindow(src, opts)
  let dirs: {restoredDir: string; oldDir: string}
  let slug: string
  if (record) {
    dirs = {restoredDir: record.restoredDir, oldDir: record.oldDir}
    slug = record.id.slice(src.cluster.length + 1)
  } else {
    const choice = chooseSide(src, opts, seen.window, seen.catalog.backups)
    slug = (choice?.id ?? '').slice(src.cluster.length + 1)
    const leaderDir = members.find((m) => m.name === cluster.leader?.name)?.dataDir ?? join(opts.restoresRoot, 'no-leader')
    dirs = dirsOf(leaderDir, slug)
  }
  const oldDirExists = pathExists(dirs.oldDir)
  const sideDone = oldDirExists || dataDirContent(dirs.restoredDir) === 'complete'
  const side = await observeSide(src, {...opts, dataDir: dirs.restoredDir, targetVerified: sideDone, sideDone}, seen)
  return {stateFile, ...(record ? {record} : {}), cluster, members, slug, oldDirExists, sideDone, side}
}

/** The restore's record: continued from an earlier run, or made from the cluster as it is (refusing what this procedure cannot do safely). */
function recordOf(src: PitrSource, opts: PitrOptions, s: IntoClusterState): IntoClusterRecord {
  const target = describeTarget(opts.target)
  if (s.record) {
    if (s.record.target !== target) {
      throw refusal('RESTORE_IN_PROGRESS', `a restore of ${src.cluster} to ${s.record.target} is unfinished (${s.stateFile}); refusing to start one to ${target}`,
        [`Finish it: re-run with the same target (${s.record.target}).`, `Or, once you have put the cluster back by hand, remove ${s.stateFile}.`])
    }
    const {status: _s, startedAt: _a, completedAt: _c, ...rec} = s.record
    return rec
  }
  const leader = s.cluster.leader
  if (!leader || !isHealthyState(leader.state) || leader.role !== 'leader') {
    throw refusal('NO_LEADER', `cluster ${src.cluster} has no healthy leader: restore --into cluster starts from a working cluster`, ['Restore --into side, or fix the cluster first (`vaultctl status --component postgres`).'])
  }
  if (s.cluster.paused) {
    throw refusal('CLUSTER_PAUSED', `cluster ${src.cluster} is paused and no vaultctl restore of it is in progress (${s.stateFile} does not exist): someone else may be working on it`,
      ['Resume it when that work is done (`patronictl resume`), then re-run.'])
  }
  const foreign = s.members.find((m) => !m.local)
  if (foreign) {
    throw refusal('NOT_ON_MEMBER_HOST', `member ${foreign.name}'s data directory ${foreign.dataDir} is not on this machine: vaultctl swaps data directories locally`,
      ['Run vaultctl on the leader\'s host (with every member on it, as in the lab), or restore --into side and switch by hand.'])
  }
  const members: ClusterMember[] = s.members.map(({local: _l, ...m}) => m)
  const lead = members.find((m) => m.name === leader.name)!
  const dirs = dirsOf(lead.dataDir, s.slug)
  if (s.oldDirExists) throw refusal('OLD_DIR_EXISTS', `${dirs.oldDir} exists: a previous restore's data is still there`, ['Move or remove it, then re-run.'])
  return {id: `${src.cluster}-${s.slug}`, target, leader: lead, replicas: members.filter((m) => m !== lead), oldTimeline: leader.timeline ?? 0, ...dirs}
}

function clusterSteps(src: PitrSource, opts: PitrOptions, rec: IntoClusterRecord): Step[] {
  const {leader, replicas} = rec
  const patronictl = {config: src.patronictlConfig ?? 'patroni.yml', cluster: src.cluster}
  const owner = opts.osUser ? {owner: opts.osUser} : {}
  const apis = [leader, ...replicas].map((m) => m.api)
  return [
    {id: 'stop-side', title: 'stop the verified restored instance and drop its side-instance settings (port, archiving off) from postgresql.auto.conf', risk: 'write',
      op: {kind: 'restore.detach-side', binDir: src.binDir, dataDir: rec.restoredDir, ...owner}},
    {id: 'pause', title: `pause Patroni on cluster ${src.cluster} (no automatic failover or restarts while the data is swapped)`, risk: 'write',
      op: {kind: 'patroni.set-pause', api: leader.api, members: apis, pause: true, timeoutMs: 30_000, patronictl}},
    ...[...replicas, leader].map((m): Step => ({id: `stop-${m.name}`, title: `stop PostgreSQL on ${m === leader ? 'the leader' : 'replica'} ${m.name}${m === leader ? ': the outage starts here' : ''}`, risk: 'destructive',
      op: {kind: 'pg.stop-if-running', dataDir: m.dataDir, binDir: src.binDir}})),
    {id: 'swap', title: `swap data directories on ${leader.name}: ${leader.dataDir} -> ${rec.oldDir} (kept), restored -> ${leader.dataDir}`, risk: 'destructive',
      op: {kind: 'restore.swap-data-dir', dataDir: leader.dataDir, oldDir: rec.oldDir, restoredDir: rec.restoredDir, memberFiles: MEMBER_FILES, ...owner}},
    {id: 'start-leader', title: `start PostgreSQL on ${leader.name} through Patroni (POST /restart) and wait until it holds the leader lock on a new timeline`, risk: 'write',
      op: {kind: 'patroni.restart-await-leader', api: leader.api, cluster: src.cluster, endpoints: src.endpoints, member: leader.name, afterTimeline: rec.oldTimeline, timeoutMs: opts.timeoutMs, patronictl}},
    {id: 'verify-leader', title: `verify on ${leader.name}: writable, new timeline${opts.verifySql ? ', --verify-sql' : ''}`, risk: 'read',
      op: {kind: 'pg.verify-writable', member: leader.name, host: leader.host, port: leader.port, user: src.user, database: src.database, afterTimeline: rec.oldTimeline, ...(opts.verifySql ? {verifySql: opts.verifySql} : {})}},
    // Still paused: resumed first, Patroni would start pg_rewind on the diverged replicas and race
    // the reinitialisation (seen in the lab: a data.failed directory left behind).
    {id: 'reinit-replicas', title: `reinitialise the replicas (${replicas.map((r) => r.name).join(', ')}) from the new leader and wait until they stream on its timeline`, risk: 'destructive',
      op: {kind: 'patroni.reinit-replicas', cluster: src.cluster, endpoints: src.endpoints, leader: leader.name, replicas: replicas.map((r) => ({name: r.name, api: r.api})), timeoutMs: opts.timeoutMs, patronictl}},
    {id: 'resume', title: `resume Patroni on cluster ${src.cluster}`, risk: 'write', op: {kind: 'patroni.set-pause', api: leader.api, members: apis, pause: false, timeoutMs: 30_000, patronictl}},
  ]
}

function leaderUnchanged(src: PitrSource, leader: string, timeline: number): Precondition {
  return {
    id: 'leader-unchanged', description: `${leader} is still the leader and the cluster is not paused`, observed: {leader, timeline},
    async check() {
      const s = await readClusterState(src.cluster, src.endpoints)
      if (s.paused) return {ok: false, detail: 'the cluster was paused since the plan was made', suggestions: ['Someone may be working on it: check, then re-run.']}
      if (s.leader?.name !== leader) return {ok: false, detail: `the leader is now ${s.leader?.name ?? 'nobody'}`, suggestions: ['Re-run: the plan is made for the current leader.']}
      return {ok: true, detail: `leader ${leader}, timeline ${s.leader.timeline}`}
    },
  }
}

export function planIntoCluster(src: PitrSource, env: {name: string; protected: boolean}, opts: PitrOptions, s: IntoClusterState): {plan: Plan; window: Window; outcome: IntoClusterOutcome} {
  const rec = recordOf(src, opts, s)
  const sideOpts = {...opts, dataDir: rec.restoredDir, sideDone: s.sideDone, targetVerified: s.sideDone}
  const side = planSide(src, env, sideOpts, s.side)
  const {leader, replicas} = rec
  const cont = Boolean(s.record)
  const tl = s.cluster.leader?.timeline ?? rec.oldTimeline
  // The restored instance takes the timeline after the newest history it finds archived: the
  // cluster's own must be there (a switchover just before would otherwise be reused; seen in the
  // lab as a segment "already archived with different content" on the new timeline).
  const histories = Array.from({length: Math.max(0, tl - 1)}, (_, i) => walKey(src.location, `${(i + 2).toString(16).toUpperCase().padStart(8, '0')}.history`))
  const steps: Step[] = [
    {id: 'record', title: `record the restore in ${s.stateFile} (a re-run continues from it)`, risk: 'write', op: {kind: 'restore.record', stateFile: s.stateFile, record: rec}},
    ...(side.plan.steps.length && histories.length ? [{id: 'await-timeline-archived', title: `wait until the cluster's timeline ${tl} history is archived (the restore then takes timeline ${tl + 1} or later)`, risk: 'read' as const,
      op: {kind: 'wal.await-archived' as const, s3: {endpoint: src.conn.endpoint, region: src.conn.region, forcePathStyle: src.conn.forcePathStyle}, bucket: src.location.bucket, keys: histories.slice(-1), timeoutMs: 120_000}}] : []),
    ...side.plan.steps.map((x) => ({...x, id: `side-${x.id}`, title: `side: ${x.title}`})),
    ...clusterSteps(src, opts, rec),
    {id: 'finish', title: `mark the restore complete; the old data stays in ${rec.oldDir} until you remove it`, risk: 'write', op: {kind: 'restore.finish-record', stateFile: s.stateFile}},
  ]
  const outcome: IntoClusterOutcome = {...side.outcome, cluster: {leader: leader.name, dataDir: leader.dataDir, oldDataDir: rec.oldDir, timelineBefore: rec.oldTimeline, replicas: replicas.map((r) => ({name: r.name})), resumed: false}}
  return {window: side.window, outcome, plan: {
    command: 'restore pitr', env: env.name, protected: env.protected, confirmOnProtected: true,
    summary: `replace the data of cluster ${src.cluster} with its state at ${rec.target}: restore and verify beside ${leader.name}'s data directory, then pause, stop, swap (old data kept in ${rec.oldDir}), start, reinitialise ${replicas.length} replica(s), resume${cont ? ' (continuing an interrupted run)' : ''}`,
    observed: {...side.plan.observed, leader: leader.name, timeline: rec.oldTimeline, members: [leader, ...replicas].map((m) => `${m.name} ${m.dataDir}`), stateFile: s.stateFile, continuing: cont},
    fingerprint: {leader: s.cluster.leader?.name ?? null, timeline: s.cluster.leader?.timeline ?? null, paused: s.cluster.paused, continuing: cont, swapped: s.oldDirExists, sideDone: s.sideDone, side: side.plan.fingerprint ?? null},
    preconditions: cont ? [] : [leaderUnchanged(src, leader.name, rec.oldTimeline)], steps,
    recovery: `The cluster's data before the restore is in ${rec.oldDir} (once the swap step ran) and stays there. Re-run the same command to continue from where it stopped. To go back instead: with the cluster paused, stop PostgreSQL on ${leader.name}, mv ${leader.dataDir} ${rec.restoredDir}; mv ${rec.oldDir} ${leader.dataDir}; POST /restart on ${leader.api}; resume; then remove ${s.stateFile}.`,
  }}
}
