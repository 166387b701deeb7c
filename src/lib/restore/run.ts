// Shared by `restore pitr` and `restore --pitr`: flags -> source, options -> plan.
import {pathExists} from '../clients/files.js'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {backupTarget} from '../backup/location.js'
import {isRoot, lookupUser} from '../clients/process.js'
import type {ResolvedEnvironment} from '../config/load.js'
import {usageError} from '../errors.js'
import {PG_BIN_DIR, which} from '../lab/binaries.js'
import {patroniTarget} from '../postgres/target.js'
import {chooseSide, planSide, type PitrSource} from './pitr.js'
import {observeIntoCluster, planIntoCluster, type IntoClusterOutcome} from './into-cluster.js'
import {observeSide, observeWindow} from './observe.js'
import {planIntoStatefulSet, podConfigText, restoreJob} from './into-k8s.js'
import {observeStatefulSet} from './k8s-observe.js'
import {requireCluster} from '../kube/cluster.js'
import {observeRds, planRdsPitr, type RdsOutcome} from '../rds/pitr.js'
import {resolveSecret} from '../config/secrets.js'
import type {Plan} from '../plan/types.js'
import type {OperationSecrets} from '../clients/operations.js'
import type {Window} from '../backup/window.js'
import type {OsUser} from '../clients/pgctl.js'
import {parseTargetTime, type RecoveryTarget} from './target.js'

export type PitrFlags = {'target-time'?: string; 'target-lsn'?: string; latest: boolean; into: string; 'data-dir'?: string; port?: number; 'verify-sql'?: string; timeout: number; 'new-id'?: string}

export function targetFrom(f: PitrFlags): RecoveryTarget {
  if (f['target-time']) return {kind: 'time', time: parseTargetTime(f['target-time'])}
  if (f['target-lsn']) {
    if (!/^[0-9A-F]+\/[0-9A-F]+$/i.test(f['target-lsn'])) throw usageError('BAD_LSN', `--target-lsn ${f['target-lsn']}: expected an LSN such as 0/3000060`)
    return {kind: 'lsn', lsn: f['target-lsn'].toUpperCase()}
  }
  if (f.latest) return {kind: 'latest'}
  throw usageError('NO_TARGET', 'say where to recover to: --target-time T, --target-lsn L or --latest')
}

/** PostgreSQL's programs (pg_ctl, pg_waldump, ...): postgres.binDir, else PostgreSQL 15's, else the PATH's. */
export function pgBinDir(r: ResolvedEnvironment): string | undefined {
  const configured = r.env.postgres?.kind === 'patroni' ? r.env.postgres.binDir : undefined
  return configured ?? (pathExists(PG_BIN_DIR) ? PG_BIN_DIR : which('pg_ctl')?.replace(/\/pg_ctl$/, ''))
}

/** Where backups come from and where restores go, for an environment. */
export function restoreSource(r: ResolvedEnvironment): {src: PitrSource; restoresRoot: string; osUser?: OsUser} {
  const pg = patroniTarget(r.env, r.name)
  const {location, conn} = backupTarget(r.env, r.name)
  const binDir = pgBinDir(r)
  if (!binDir) throw usageError('NO_PG_CTL', 'pg_ctl not found', ['Set postgres.binDir in the config, or install postgresql-15.'])
  // PostgreSQL refuses to run as root: then it runs as `postgres`, in a directory that user owns.
  const pgUser = isRoot() ? lookupUser('postgres') : undefined
  const restoresRoot = pgUser ? join(pgUser.home, 'vaultctl-restores') : join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'vaultctl', 'restores')
  return {src: {cluster: pg.name, endpoints: pg.endpoints, user: pg.user, password: pg.password, database: pg.database, binDir, location, conn, patronictlConfig: pg.patroniConfigHint},
    restoresRoot, osUser: pgUser ? {uid: pgUser.uid, gid: pgUser.gid} : undefined}
}

export type PlannedRestore = {plan: Plan; window?: Window; secrets?: OperationSecrets; outcome: IntoClusterOutcome & {rds?: RdsOutcome}}

const pitrSecrets = (src: PitrSource): OperationSecrets => ({pgPassword: src.password, s3: {accessKeyId: src.conn.accessKeyId, secretAccessKey: src.conn.secretAccessKey}})

export async function planRestore(r: ResolvedEnvironment, f: PitrFlags): Promise<PlannedRestore> {
  const target = targetFrom(f)
  const timeout = f.timeout
  const pg = r.env.postgres
  const env = {name: r.name, protected: r.env.protected}
  if (pg?.kind === 'rds') {
    const secret = (ref: typeof pg.accessKeyIdFrom, what: string) => (ref ? resolveSecret(ref, what) : undefined)
    // Named after a time target (a re-run or a saved plan names the same restore); --latest after the planning minute.
    const stamp = (d: Date, n: number) => d.toISOString().replace(/[-:T]/g, '').slice(0, n)
    const newId = f['new-id'] ?? `${pg.clusterId}-pitr-${target.kind === 'time' ? stamp(target.time, 14) : stamp(new Date(), 12)}`
    const creds = {accessKeyId: secret(pg.accessKeyIdFrom, 'postgres.accessKeyIdFrom'), secretAccessKey: secret(pg.secretAccessKeyFrom, 'postgres.secretAccessKeyFrom')}
    const src = {engine: pg.engine, id: pg.clusterId, conn: {region: pg.region, endpoint: pg.apiEndpoint, ...creds}}
    const {plan, outcome} = planRdsPitr(src, env, target, newId, timeout * 1000, await observeRds(src, newId))
    return {plan, window: undefined, secrets: {rds: creds}, outcome: {rds: outcome}}
  }
  if (f['new-id']) throw usageError('USAGE', '--new-id is for RDS/Aurora environments; a Patroni restore goes to --data-dir')
  const {src, restoresRoot, osUser} = restoreSource(r)
  const opts = {target, port: f.port, verifySql: f['verify-sql'], restoresRoot, osUser, timeoutMs: timeout * 1000}
  if (f.into === 'cluster') {
    if (f['data-dir']) throw usageError('USAGE', '--data-dir is for --into side: --into cluster restores beside the leader\'s own data directory')
    const k = pg?.kind === 'patroni' ? pg.kubernetes : undefined
    if (k) {
      // Checks the target against the backups' window (refusing as a side restore would), then the StatefulSet plan.
      const {catalog, window} = await observeWindow(src, opts)
      chooseSide(src, opts, window, catalog.backups)
      const cluster = requireCluster(r.env, r.name, 'postgres.kubernetes needs the cluster the StatefulSet runs in')
      const sts = {cluster: src.cluster, namespace: k.namespace ?? r.env.kubernetes?.namespaces.data ?? 'llm-vault-data', statefulSet: k.statefulSet,
        container: k.container, replicas: k.replicas, volumeClaimTemplate: k.volumeClaimTemplate, dataDir: k.dataDir, image: k.image, user: src.user, patroniPort: k.patroniPort}
      const {kubernetes: _k, passwordFrom: _p, patronictlConfig: _c, ...pgForPod} = pg as Extract<typeof pg, {kind: 'patroni'}>
      const {accessKeyIdFrom: _a, secretAccessKeyFrom: _s, ...s3ForPod} = r.env.s3 ?? {region: src.conn.region}
      const job = await restoreJob(sts, r.name, target, {verifySql: f['verify-sql'], deadlineSeconds: timeout})
      const plan = planIntoStatefulSet({k: sts, cluster, env, target, verifySql: f['verify-sql'], job, podConfig: podConfigText(r.name, {...pgForPod, backup: src.location}, s3ForPod),
        timeoutMs: timeout * 1000, now: new Date()}, await observeStatefulSet(cluster, sts, target))
      return {plan, window, secrets: pitrSecrets(src), outcome: {}}
    }
    const state = await observeIntoCluster(src, opts)
    return {...planIntoCluster(src, env, opts, state), secrets: pitrSecrets(src)}
  }
  const state = await observeSide(src, {...opts, dataDir: f['data-dir']})
  return {...planSide(src, env, {...opts, dataDir: f['data-dir']}, state), secrets: pitrSecrets(src)}
}
