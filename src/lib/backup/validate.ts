// The daily backup validator (architecture 8.4, done right): restore the newest base backup plus
// its WAL into an ephemeral instance, check it, tear it down. Any failed check fails the run.
import {rmSync} from 'node:fs'
import {pgAmcheck, pgStopHard, type OsUser} from '../clients/pgctl.js'
import {failure} from '../errors.js'
import type {Plan, Step} from '../plan/types.js'
import {readCatalog} from './catalog.js'
import {planPitr, type PitrOptions, type PitrOutcome, type PitrSource} from '../restore/pitr.js'

export type ValidateCheck = {id: string; ok: boolean; detail: string; skipped?: boolean}
export type ValidateOutcome = {pitr: PitrOutcome; checks: ValidateCheck[]; backup?: string}
export type ValidateOptions = {restoresRoot: string; osUser?: OsUser; timeoutMs: number; maxBackupAgeMs: number; rpoSeconds: number; checkSql: string[]; leader?: {host: string; port: number}}

export async function planValidate(src: PitrSource, env: {name: string; protected: boolean}, opts: ValidateOptions, out: ValidateOutcome): Promise<Plan> {
  let catalog = await readCatalog(src.conn, src.location)
  // Right after `backup create` (a CronJob chain), the backup's last WAL segment may still be on its
  // way to the archive: give it a little time rather than validate an older backup.
  for (let i = 0; i < 15 && catalog.backups.length && !catalog.window.backups.some((b) => b.backup === catalog.backups.at(-1)!.id); i++) {
    await new Promise((r) => setTimeout(r, 2000))
    catalog = await readCatalog(src.conn, src.location)
  }
  const newest = catalog.backups.at(-1)
  const win = newest ? catalog.window.backups.find((b) => b.backup === newest.id) : undefined
  const dataDir = `${opts.restoresRoot}/validate-${Date.now()}`
  const pitrOpts: PitrOptions = {target: {kind: 'latest'}, dataDir, restoresRoot: opts.restoresRoot, osUser: opts.osUser, timeoutMs: opts.timeoutMs}
  const {plan} = await planPitr(src, env, pitrOpts, out.pitr)
  out.backup = out.pitr.backup ?? newest?.id
  const checks: Step = {
    id: 'checks', title: `checks: WAL continuity, backup age, archiving, pg_amcheck${opts.checkSql.length ? `, ${opts.checkSql.length} SQL check(s)` : ''}`, risk: 'read',
    manual: `pg_amcheck -h 127.0.0.1 -p ${out.pitr.port} -U ${src.user} --all --install-missing${opts.checkSql.map((q) => `; psql -h 127.0.0.1 -p ${out.pitr.port} -c ${JSON.stringify(q)}`).join('')}`,
    async run() {
      const results: ValidateCheck[] = []
      results.push(win?.gapAt
        ? {id: 'wal-continuity', ok: false, detail: `WAL gap at ${win.gapAt}: the archive ends at ${win.lastSegment} for backup ${win.backup}`}
        : {id: 'wal-continuity', ok: Boolean(win), detail: win ? `continuous from ${win.fromLsn} to ${win.lastSegment}` : `the newest backup ${newest?.id ?? '(none)'} has no restorable window (its WAL is not archived)${out.pitr.backup && out.pitr.backup !== newest?.id ? `; backup ${out.pitr.backup} was restored instead` : ''}`})
      const age = newest ? Date.now() - new Date(newest.finishedAt).getTime() : Infinity
      results.push({id: 'backup-age', ok: age <= opts.maxBackupAgeMs, detail: `newest base backup ${newest?.id ?? 'none'} is ${(age / 3600_000).toFixed(1)} h old (limit ${(opts.maxBackupAgeMs / 3600_000).toFixed(0)} h)`})
      if (opts.leader) {
        const {withPg} = await import('../clients/postgres.js')
        try {
          const r = await withPg({host: opts.leader.host, port: opts.leader.port, user: src.user, password: src.password, database: src.database}, async (c) => (await c.query<{current: string; last: string | null; failed: boolean; age: number | null}>(
            `select pg_walfile_name(pg_current_wal_lsn()) as current, last_archived_wal as last,
                    coalesce(last_failed_time > coalesce(last_archived_time, 'epoch'), false) as failed,
                    extract(epoch from now() - last_archived_time)::float as age from pg_stat_archiver`)).rows[0]!)
          const behind = r.last ? parseInt(r.current.slice(8), 16) - parseInt(r.last.slice(8), 16) : Infinity
          results.push({id: 'wal-rpo', ok: !r.failed && behind <= 1,
            detail: r.failed ? 'archive_command is failing on the leader (pg_stat_archiver)' : `the leader writes ${r.current}; last archived ${r.last ?? 'none'} (${behind <= 1 ? 'only the open segment is unarchived' : `${behind} segments behind`}; RPO ${opts.rpoSeconds} s)`})
        } catch (error) {
          results.push({id: 'wal-rpo', ok: false, detail: `could not ask the leader: ${(error as Error).message}`})
        }
      }
      const am = await pgAmcheck(src.binDir, {port: out.pitr.port!, user: src.user, password: src.password})
      results.push({id: 'amcheck', ok: am.ok, detail: am.available ? (am.ok ? 'pg_amcheck: no corruption found' : am.output) : 'skipped: pg_amcheck not installed', ...(am.available ? {} : {skipped: true})})
      const {withPg} = await import('../clients/postgres.js')
      for (const [k, sql] of opts.checkSql.entries()) {
        try {
          const rows = await withPg({host: '127.0.0.1', port: out.pitr.port!, user: src.user, password: src.password, database: src.database}, async (c) => (await c.query(sql)).rows)
          const first = rows[0] ? Object.values(rows[0] as Record<string, unknown>)[0] : undefined
          results.push({id: `sql-${k + 1}`, ok: !(first === false || first === 0 || first === null || first === undefined || first === '0'), detail: `${sql} -> ${JSON.stringify(first)}`})
        } catch (error) {
          results.push({id: `sql-${k + 1}`, ok: false, detail: `${sql} -> error: ${(error as Error).message}`})
        }
      }
      out.checks.push(...results)
      const bad = results.filter((r) => !r.ok)
      if (bad.length) throw failure('VALIDATION_FAILED', `${bad.length} check(s) failed: ${bad.map((b) => `${b.id}: ${b.detail}`).join('; ')}`)
      return {detail: `${results.length} checks passed`}
    },
  }
  const teardown: Step = {
    id: 'teardown', title: 'stop and delete the ephemeral instance', risk: 'write', always: true,
    manual: `pg_ctl -D ${dataDir} stop -m immediate; rm -rf ${dataDir} ${dataDir}.log ${dataDir}.wal-spool`,
    async run() {
      await pgStopHard(src.binDir, dataDir, opts.osUser).catch(() => undefined)
      rmSync(dataDir, {recursive: true, force: true})
      rmSync(`${dataDir}.log`, {force: true})
      rmSync(`${dataDir}.wal-spool`, {recursive: true, force: true})
    },
  }
  // The restore's own "verify" marks the directory complete: not needed for a throw-away instance.
  const steps = plan.steps.filter((s) => s.id !== 'verify')
  return {...plan, command: 'backup validate', summary: `validate backup ${newest?.id ?? '(none)'}: restore it with all its WAL into an ephemeral instance, check, tear down`,
    steps: [...steps, checks, teardown], recovery: 'Nothing in the cluster or the archive was changed; the ephemeral instance is removed even on failure.'}
}
