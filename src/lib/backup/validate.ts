// The daily backup validator (architecture 8.4, done right): restore the newest base backup plus
// its WAL into an ephemeral instance, check it, tear it down. Any failed check fails the run.
// observeValidate reads the archive, the cluster's leader and the instance directory; planValidate
// is a pure function of that.
import {join} from 'node:path'
import {readClusterState} from '../postgres/cluster-state.js'
import type {Plan} from '../plan/types.js'
import type {ValidateCheck} from '../plan/ops-restore.js'
import {waitUntil} from '../wait.js'
import {readCatalog, type Catalog} from './catalog.js'
import {observeSide} from '../restore/observe.js'
import {planSide, type PitrOptions, type PitrOutcome, type PitrSource, type SideState} from '../restore/pitr.js'

export type {ValidateCheck}
export type ValidateOptions = {restoresRoot: string; osUser?: PitrOptions['osUser']; timeoutMs: number; maxBackupAgeMs: number; rpoSeconds: number; checkSql: string[]}

export type ValidateState = {catalog: Catalog; side?: SideState; leader?: {host: string; port: number}}

const newestOf = (c: Catalog) => c.backups.at(-1)
const inWindow = (c: Catalog) => c.window.backups.some((b) => b.backup === newestOf(c)?.id)
/** The ephemeral instance is named after the backup it restores: a re-run after a kill finds and clears it. */
const instanceDir = (opts: ValidateOptions, c: Catalog) => join(opts.restoresRoot, `validate-${newestOf(c)?.id ?? 'none'}`)
const pitrOptions = (opts: ValidateOptions, c: Catalog): PitrOptions =>
  ({target: {kind: 'latest'}, dataDir: instanceDir(opts, c), restoresRoot: opts.restoresRoot, osUser: opts.osUser, timeoutMs: opts.timeoutMs})

export async function observeValidate(src: PitrSource, opts: ValidateOptions): Promise<ValidateState> {
  // Right after `backup create` (a CronJob chain), the backup's last WAL segment may still be on its
  // way to the archive: give it a little time rather than validate an older backup.
  let catalog = await readCatalog(src.conn, src.location)
  if (catalog.backups.length && !inWindow(catalog)) {
    await waitUntil({what: `the newest backup's WAL in the archive`, timeoutMs: 30_000, intervalMs: 2000, maxIntervalMs: 2000}, async () => {
      catalog = await readCatalog(src.conn, src.location)
      return inWindow(catalog) ? {done: true, value: true} : {done: false, status: 'not archived yet'}
    }).catch(() => undefined)
  }
  let leader: ValidateState['leader']
  try {
    const s = await readClusterState(src.cluster, src.endpoints)
    if (s.leader?.host && s.leader.port) leader = {host: s.leader.host, port: s.leader.port}
  } catch {
    // the archive can be validated without the cluster; the wal-rpo check is then skipped
  }
  const side = catalog.window.backups.length ? await observeSide(src, pitrOptions(opts, catalog), {catalog, window: catalog.window}) : undefined
  return {catalog, ...(side ? {side} : {}), ...(leader ? {leader} : {})}
}

function continuity(c: Catalog, restored?: string): ValidateCheck {
  const newest = newestOf(c)
  const win = newest ? c.window.backups.find((b) => b.backup === newest.id) : undefined
  if (win?.gapAt) return {id: 'wal-continuity', ok: false, detail: `WAL gap at ${win.gapAt}: the archive ends at ${win.lastSegment} for backup ${win.backup}`}
  return {id: 'wal-continuity', ok: Boolean(win), detail: win ? `continuous from ${win.fromLsn} to ${win.lastSegment}`
    : `the newest backup ${newest?.id ?? '(none)'} has no restorable window (its WAL is not archived)${restored && restored !== newest?.id ? `; backup ${restored} was restored instead` : ''}`}
}

export function planValidate(src: PitrSource, env: {name: string; protected: boolean}, opts: ValidateOptions, s: ValidateState): {plan: Plan; outcome: PitrOutcome; backup?: string} {
  const c = s.catalog
  const newest = newestOf(c)
  // A restore that cannot be planned (no window) refuses here, as `restore pitr --latest` would.
  const side = planSide(src, env, pitrOptions(opts, c), s.side ?? {backups: c.backups, walNames: [], histories: c.histories, window: c.window, dataDir: {path: instanceDir(opts, c), content: 'absent'}, port: 0})
  const {port, dataDir} = side.outcome
  // The restore's own marker step is for restores that are kept: not needed for a throw-away instance.
  const steps = side.plan.steps.filter((x) => x.id !== 'mark-complete')
  const cont = continuity(c, side.outcome.backup)
  return {outcome: side.outcome, backup: side.outcome.backup ?? newest?.id, plan: {
    ...side.plan, command: 'backup validate', summary: `validate backup ${newest?.id ?? '(none)'}: restore it with all its WAL into an ephemeral instance, check, tear down`,
    steps: [...steps,
      {id: 'checks', title: `checks: WAL continuity, backup age, archiving, pg_amcheck${opts.checkSql.length ? `, ${opts.checkSql.length} SQL check(s)` : ''}`, risk: 'read',
        op: {kind: 'backup.validate-checks', continuity: {ok: cont.ok, detail: cont.detail}, ...(newest ? {newest: {id: newest.id, finishedAt: newest.finishedAt}} : {}),
          maxBackupAgeMs: opts.maxBackupAgeMs, rpoSeconds: opts.rpoSeconds, ...(s.leader ? {leader: s.leader} : {}), port: port!, user: src.user, database: src.database, binDir: src.binDir, checkSql: opts.checkSql}},
      {id: 'teardown', title: 'stop and delete the ephemeral instance', risk: 'write', always: true,
        op: {kind: 'pg.destroy-instance', binDir: src.binDir, dataDir: dataDir!, ...(opts.osUser ? {owner: opts.osUser} : {})}}],
    recovery: 'Nothing in the cluster or the archive was changed; the ephemeral instance is removed even on failure.',
  }}
}
