// `restore pitr --into cluster` for a Patroni cluster on hosts (the lab): the point-in-time data
// replaces the cluster's. The new data is restored and verified BESIDE the leader's data directory
// while the cluster still serves; only then is Patroni paused, PostgreSQL stopped on every member,
// the leader's data directory swapped (the old one is renamed, never deleted), PostgreSQL started
// through Patroni, checked, the replicas reinitialised from the new leader, and Patroni resumed.
// Every step can be re-run: a state file outside the data directories records where it got to.
import {createHash} from 'node:crypto'
import {chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {pgStop} from '../clients/pgctl.js'
import {patchConfig, getNode, postReinitialize, postRestart} from '../clients/patroni.js'
import {errorMessage, failure, refusal} from '../errors.js'
import type {Plan, Precondition, Step} from '../plan/types.js'
import {readClusterState, type ClusterState} from '../postgres/cluster-state.js'
import {isHealthyState} from '../postgres/roles.js'
import {describeTarget} from './target.js'
import {MARKER, planPitr, stripRecoverySettings, targetSlug, type PitrOptions, type PitrOutcome, type PitrSource} from './pitr.js'
import type {Window} from '../backup/window.js'

type Member = {name: string; api: string; host: string; port: number; dataDir: string}

export type IntoClusterState = {
  status: 'in-progress' | 'complete'
  id: string
  target: string
  leader: Member
  replicas: Member[]
  oldTimeline: number
  restoredDir: string
  oldDir: string
  startedAt: string
  completedAt?: string
}

export type IntoClusterOutcome = PitrOutcome & {
  cluster?: {leader: string; dataDir: string; oldDataDir: string; timelineBefore: number; timeline?: number; replicas: {name: string; state?: string; timeline?: number}[]; resumed: boolean}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Files Patroni writes into a data directory; the restored one (cloned from whichever member the backup came from) gets the leader's. */
const MEMBER_FILES = ['postgresql.conf', 'postgresql.base.conf', 'pg_hba.conf', 'pg_ident.conf', 'patroni.dynamic.json']

const readJson = <T>(file: string): T | undefined => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as T : undefined)

/** The segments and history file of the newest timeline in pg_wal that a server running with archiving off never queued. */
export function unarchivedOnNewestTimeline(walFiles: string[]): string[] {
  const tlis = walFiles.filter((f) => /^[0-9A-F]{8}\.history$/.test(f)).map((f) => f.slice(0, 8)).sort()
  const tli = tlis.at(-1)
  if (!tli) return []
  const segments = walFiles.filter((f) => /^[0-9A-F]{24}$/.test(f) && f.startsWith(tli)).sort()
  // The newest segment is still being written: it is archived when it is complete.
  return [`${tli}.history`, ...segments.slice(0, -1)]
}

async function memberDataDir(src: PitrSource, host: string, port: number): Promise<string> {
  const {withPg} = await import('../clients/postgres.js')
  return withPg({host, port, user: src.user, password: src.password, database: src.database},
    async (c) => (await c.query<{d: string}>(`select current_setting('data_directory') as d`)).rows[0]!.d)
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, note: (m: string) => void): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (error) {
      last = errorMessage(error)
      note(last)
    }
    await sleep(500)
  }
  throw failure('TIMEOUT', `${what}: not seen within ${timeoutMs / 1000} s${last ? ` (last: ${last})` : ''}`)
}

/** Read the cluster and the members' data directories; refuse what this procedure cannot do safely. */
async function observe(src: PitrSource, before: ClusterState, stateFile: string, target: string): Promise<IntoClusterState> {
  const leader = before.leader
  if (!leader || !isHealthyState(leader.state) || leader.role !== 'leader') {
    throw refusal('NO_LEADER', `cluster ${src.cluster} has no healthy leader: restore --into cluster starts from a working cluster`, ['Restore --into side, or fix the cluster first (`vaultctl status --component postgres`).'])
  }
  if (before.paused) {
    throw refusal('CLUSTER_PAUSED', `cluster ${src.cluster} is paused and no vaultctl restore of it is in progress (${stateFile} does not exist): someone else may be working on it`,
      ['Resume it when that work is done (`patronictl resume`), then re-run.'])
  }
  const members: Member[] = []
  for (const m of before.members) {
    if (!m.api || !m.host || !m.port) throw refusal('MEMBER_UNKNOWN', `member ${m.name} reports no REST API or PostgreSQL address`, ['Check it with `vaultctl status --component postgres`.'])
    let dataDir: string
    try {
      dataDir = await memberDataDir(src, m.host, m.port)
    } catch (error) {
      throw refusal('MEMBER_UNREACHABLE', `cannot read the data directory of member ${m.name} (${m.host}:${m.port}): ${errorMessage(error)}`, ['Every member must be up to plan a restore into the cluster; or restore --into side.'])
    }
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      throw refusal('NOT_ON_MEMBER_HOST', `member ${m.name}'s data directory ${dataDir} is not on this machine: vaultctl swaps data directories locally`,
        ['Run vaultctl on the leader\'s host (with every member on it, as in the lab), or restore --into side and switch by hand.'])
    }
    members.push({name: m.name, api: m.api, host: m.host, port: m.port, dataDir})
  }
  const lead = members.find((m) => m.name === leader.name)!
  return {
    status: 'in-progress', id: '', target, leader: lead, replicas: members.filter((m) => m !== lead),
    oldTimeline: leader.timeline ?? 0, restoredDir: '', oldDir: '', startedAt: new Date().toISOString(),
  }
}

export async function planIntoCluster(src: PitrSource, env: {name: string; protected: boolean}, opts: PitrOptions, out: IntoClusterOutcome): Promise<{plan: Plan; window: Window}> {
  // Named after the cluster and its endpoints: two clusters may share a name (the lab and the test lab).
  const key = createHash('sha256').update(src.endpoints.join(',')).digest('hex').slice(0, 8)
  const stateFile = join(opts.restoresRoot, `${src.cluster}-${key}.into-cluster.json`)
  const target = describeTarget(opts.target)
  // A completed restore's record is history: a new restore starts afresh (its own directories).
  const found = readJson<IntoClusterState>(stateFile)
  const prev = found?.status === 'complete' ? undefined : found
  if (prev && prev.target !== target) {
    throw refusal('RESTORE_IN_PROGRESS', `a restore of ${src.cluster} to ${prev.target} is unfinished (${stateFile}); refusing to start one to ${target}`,
      [`Finish it: re-run with the same target (${prev.target}).`, `Or, once you have put the cluster back by hand, remove ${stateFile}.`])
  }
  const before = await readClusterState(src.cluster, src.endpoints)
  let st: IntoClusterState
  if (prev) {
    st = prev
  } else {
    st = await observe(src, before, stateFile, target)
    const slug = targetSlug(opts.target)
    st.id = `${src.cluster}-${slug}`
    st.restoredDir = `${st.leader.dataDir}.restore-${slug}`
    st.oldDir = `${st.leader.dataDir}.pre-restore-${slug}`
    if (existsSync(st.oldDir)) throw refusal('OLD_DIR_EXISTS', `${st.oldDir} exists: a previous restore's data is still there`, [`Move or remove it, then re-run.`])
  }
  const swapped = existsSync(st.oldDir)
  const marker = readJson<{status: string}>(join(st.restoredDir, MARKER))
  const sideDone = swapped || marker?.status === 'complete'
  const {plan: side, window} = await planPitr(src, env, {...opts, dataDir: st.restoredDir, sideDone, targetVerified: sideDone}, out)
  const user = opts.osUser
  const own = (p: string) => user && chownSync(p, user.uid, user.gid)
  const {leader, replicas} = st
  const api0 = leader.api
  const hint = `patronictl -c ${src.patronictlConfig ?? 'patroni.yml'}`
  const result = {leader: leader.name, dataDir: leader.dataDir, oldDataDir: st.oldDir, timelineBefore: st.oldTimeline, timeline: undefined as number | undefined,
    replicas: replicas.map((r) => ({name: r.name} as {name: string; state?: string; timeline?: number})), resumed: false}
  out.cluster = result
  const save = () => {
    mkdirSync(dirname(stateFile), {recursive: true, mode: 0o700})
    writeFileSync(stateFile, JSON.stringify(st, null, 2) + '\n')
  }
  const memberPg = (m: Member) => ({host: m.host, port: m.port, user: src.user, password: src.password, database: src.database})

  const steps: Step[] = [
    {
      id: 'record', title: `record the restore in ${stateFile} (a re-run continues from it)`, risk: 'write',
      manual: `echo '{"target": "${target}"}' > ${stateFile}`,
      async run() {
        save()
      },
    },
    ...side.steps.map((s) => ({...s, title: `side: ${s.title}`})),
    {
      id: 'stop-side', title: `stop the verified restored instance and drop its side-instance settings (port, archiving off) from postgresql.auto.conf`, risk: 'write',
      manual: `pg_ctl -D ${st.restoredDir} stop -m fast; sed -i '/^# --- vaultctl restore pitr/,$d' ${st.restoredDir}/postgresql.auto.conf`,
      async run() {
        if (!existsSync(st.restoredDir)) return {detail: 'already swapped in'}
        await pgStop(src.binDir, st.restoredDir, user)
        const auto = join(st.restoredDir, 'postgresql.auto.conf')
        writeFileSync(auto, stripRecoverySettings(readFileSync(auto, 'utf8')))
        own(auto)
        for (const f of ['recovery.signal', 'standby.signal']) rmSync(join(st.restoredDir, f), {force: true})
        // The restored server ran with archiving off: queue its new timeline's history file and
        // finished segments so the cluster's archiver ships them once Patroni starts it.
        const status = join(st.restoredDir, 'pg_wal', 'archive_status')
        const queued = unarchivedOnNewestTimeline(readdirSync(join(st.restoredDir, 'pg_wal')))
          .filter((f) => !existsSync(join(status, `${f}.done`)))
        for (const f of queued) {
          writeFileSync(join(status, `${f}.ready`), '')
          own(join(status, `${f}.ready`))
        }
        return {detail: `${queued.length} WAL files queued for archiving`}
      },
    },
    {
      id: 'pause', title: `pause Patroni on cluster ${src.cluster} (no automatic failover or restarts while the data is swapped)`, risk: 'write',
      manual: `curl -s -XPATCH -d '{"pause": true}' ${api0}/config   # or: ${hint} pause --wait`,
      async run(ctx) {
        await patchConfig(api0, {pause: true})
        await waitFor('every member paused', 30_000, async () => {
          const seen = await Promise.all([leader, ...replicas].map(async (m) => (await getNode(m.api, 1500)).pause === true))
          return seen.every(Boolean) ? true : undefined
        }, ctx.note)
      },
    },
    {
      id: 'stop-members', title: `stop PostgreSQL on the replicas (${replicas.map((r) => r.name).join(', ')}) and then on the leader ${leader.name}: the outage starts here`, risk: 'destructive',
      manual: [...replicas, leader].map((m) => `pg_ctl -D ${m.dataDir} stop -m fast`).join('; '),
      async run() {
        for (const m of [...replicas, leader]) {
          if (existsSync(join(m.dataDir, 'postmaster.pid'))) await pgStop(src.binDir, m.dataDir, user)
        }
      },
    },
    {
      id: 'swap', title: `swap data directories on ${leader.name}: ${leader.dataDir} -> ${st.oldDir} (kept), restored -> ${leader.dataDir}`, risk: 'destructive',
      manual: `mv ${leader.dataDir} ${st.oldDir} && mv ${st.restoredDir} ${leader.dataDir} && cp ${st.oldDir}/{${MEMBER_FILES.join(',')}} ${leader.dataDir}/`,
      async run() {
        if (!existsSync(st.oldDir)) {
          if (existsSync(join(leader.dataDir, 'postmaster.pid'))) throw failure('MEMBER_RUNNING', `${leader.dataDir} still has a postmaster.pid: PostgreSQL on ${leader.name} is not stopped`, ['Re-run: the stop step comes first.'])
          renameSync(leader.dataDir, st.oldDir)
        }
        if (existsSync(st.restoredDir)) {
          if (existsSync(leader.dataDir)) throw failure('SWAP_CONFLICT', `both ${st.restoredDir} and ${leader.dataDir} exist after ${leader.dataDir} was moved aside`, [`Look at both; the cluster's old data is in ${st.oldDir}.`])
          renameSync(st.restoredDir, leader.dataDir)
        }
        for (const f of MEMBER_FILES) {
          if (existsSync(join(st.oldDir, f))) {
            copyFileSync(join(st.oldDir, f), join(leader.dataDir, f))
            own(join(leader.dataDir, f))
          }
        }
        rmSync(join(leader.dataDir, MARKER), {force: true})
        return {detail: `old data kept in ${st.oldDir}`}
      },
    },
    {
      id: 'start-leader', title: `start PostgreSQL on ${leader.name} through Patroni (POST /restart) and wait until it holds the leader lock on a new timeline`, risk: 'write',
      manual: `curl -s -XPOST -d '{}' ${leader.api}/restart   # or: ${hint} restart ${src.cluster} ${leader.name} --force`,
      async run(ctx) {
        const r = await postRestart(leader.api)
        if (r.status !== 200) ctx.note(`POST /restart answered ${r.status}: ${r.text}`)
        const tl = await waitFor(`${leader.name} as leader on a new timeline`, opts.timeoutMs, async () => {
          const s = await readClusterState(src.cluster, src.endpoints)
          const m = s.leader?.name === leader.name ? s.leader : undefined
          return m && isHealthyState(m.state) && m.timeline !== undefined && m.timeline > st.oldTimeline ? m.timeline : undefined
        }, ctx.note)
        result.timeline = tl
        return {detail: `leader ${leader.name}, timeline ${st.oldTimeline} -> ${tl}`}
      },
    },
    {
      id: 'verify', title: `verify on ${leader.name}: writable, new timeline${opts.verifySql ? ', --verify-sql' : ''}`, risk: 'read',
      manual: `psql -h ${leader.host} -p ${leader.port} -U ${src.user} -c 'select pg_is_in_recovery(), txid_current()'${opts.verifySql ? ` -c ${JSON.stringify(opts.verifySql)}` : ''}`,
      async run() {
        const {withPg, writableTimeline} = await import('../clients/postgres.js')
        const w = await writableTimeline(memberPg(leader), 5000)
        if (w.timeline <= st.oldTimeline) throw failure('NOT_A_NEW_TIMELINE', `${leader.name} writes on timeline ${w.timeline}, not after the old ${st.oldTimeline}`)
        result.timeline = w.timeline
        if (opts.verifySql) {
          const rows = await withPg(memberPg(leader), async (c) => (await c.query(opts.verifySql!)).rows)
          out.verifySql = rows
          const first = rows[0] ? Object.values(rows[0] as Record<string, unknown>)[0] : undefined
          if (first === false || first === 0 || first === null) throw failure('VERIFY_SQL_FAILED', `--verify-sql returned ${JSON.stringify(first)} on the restored leader`)
        }
        return {detail: `writable on timeline ${w.timeline}`}
      },
    },
    {
      // Still paused: resumed first, Patroni would start pg_rewind on the diverged replicas and race
      // the reinitialisation (seen in the lab: a data.failed directory left behind).
      id: 'reinit-replicas', title: `reinitialise the replicas (${replicas.map((r) => r.name).join(', ')}) from the new leader and wait until they stream on its timeline`, risk: 'destructive',
      manual: replicas.map((m) => `curl -s -XPOST -d '{"force": true}' ${m.api}/reinitialize   # or: ${hint} reinit ${src.cluster} ${m.name} --force`).join('\n'),
      async run(ctx) {
        for (const m of replicas) {
          const r = await waitFor(`POST ${m.api}/reinitialize accepted`, 60_000, async () => {
            const res = await postReinitialize(m.api, true)
            if (res.status === 200) return res
            ctx.note(`${m.name}: ${res.status} ${res.text}`)
            return undefined
          }, ctx.note)
          ctx.note(`${m.name}: ${r.text}`)
        }
        const tl = result.timeline
        await waitFor('every replica streaming from the new leader', opts.timeoutMs, async () => {
          const s = await readClusterState(src.cluster, src.endpoints)
          const rows = replicas.map((r) => s.members.find((m) => m.name === r.name))
          result.replicas = replicas.map((r, i) => ({name: r.name, state: rows[i]?.state, timeline: rows[i]?.timeline}))
          const ok = rows.every((m) => m && m.role === 'replica' && isHealthyState(m.state) && m.timeline === (tl ?? s.leader?.timeline) && m.lagBytes !== undefined)
          ctx.note(result.replicas.map((r) => `${r.name} ${r.state ?? '?'} tl ${r.timeline ?? '?'}`).join(', '))
          return ok ? true : undefined
        }, ctx.note)
        return {detail: result.replicas.map((r) => `${r.name} ${r.state} on timeline ${r.timeline}`).join(', ')}
      },
    },
    {
      id: 'resume', title: `resume Patroni on cluster ${src.cluster}`, risk: 'write',
      manual: `curl -s -XPATCH -d '{"pause": false}' ${api0}/config   # or: ${hint} resume --wait`,
      async run() {
        await patchConfig(leader.api, {pause: false})
        result.resumed = true
      },
    },
    {
      id: 'finish', title: `mark the restore complete; the old data stays in ${st.oldDir} until you remove it`, risk: 'write',
      manual: `# when satisfied: rm -rf ${st.oldDir}`,
      async run() {
        st.status = 'complete'
        st.completedAt = new Date().toISOString()
        save()
      },
    },
  ]

  const preconditions: Precondition[] = prev ? [] : [{
    id: 'leader-unchanged', description: `${leader.name} is still the leader and the cluster is not paused`, observed: {leader: leader.name, timeline: st.oldTimeline},
    async check() {
      const s = await readClusterState(src.cluster, src.endpoints)
      if (s.paused) return {ok: false, detail: 'the cluster was paused since the plan was made', suggestions: ['Someone may be working on it: check, then re-run.']}
      if (s.leader?.name !== leader.name) return {ok: false, detail: `the leader is now ${s.leader?.name ?? 'nobody'}`, suggestions: ['Re-run: the plan is made for the current leader.']}
      return {ok: true, detail: `leader ${leader.name}, timeline ${s.leader.timeline}`}
    },
  }]
  return {window, plan: {
    command: 'restore pitr', env: env.name, protected: env.protected, confirmOnProtected: true,
    summary: `replace the data of cluster ${src.cluster} with its state at ${target}: restore and verify beside ${leader.name}'s data directory, then pause, stop, swap (old data kept in ${st.oldDir}), start, reinitialise ${replicas.length} replica(s), resume${prev ? ' (continuing an interrupted run)' : ''}`,
    observed: {...side.observed, leader: leader.name, timeline: st.oldTimeline, members: [leader, ...replicas].map((m) => `${m.name} ${m.dataDir}`), stateFile},
    preconditions, steps,
    recovery: `The cluster's data before the restore is in ${st.oldDir} (once the swap step ran) and stays there. Re-run the same command to continue from where it stopped. To go back instead: with the cluster paused, stop PostgreSQL on ${leader.name}, mv ${leader.dataDir} ${st.restoredDir}; mv ${st.oldDir} ${leader.dataDir}; POST /restart on ${leader.api}; resume; then remove ${stateFile}.`,
  }}
}
