// The executor of the lab's operations (src/lib/plan/ops-lab.ts): daemons, files, and the first
// requests to the services they run. Each one can run again: it checks what is there first.
import {resolveSecret} from '../config/secrets.js'
import {once} from 'node:events'
import {createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {failure} from '../errors.js'
import type {LabOperation} from '../plan/ops-lab.js'
import type {OperationResult} from '../plan/operations.js'
import {waitUntil} from '../wait.js'
import {TOOL_ENV} from './child-env.js'
import {run} from './exec.js'
import {adoptOrphan, alive, portInUse, runningPid, spawnDaemon} from './process.js'
import type {OperationContext} from './operations.js'

type Op<K extends LabOperation['kind']> = Extract<LabOperation, {kind: K}>
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-400)
  } catch {
    return ''
  }
}

async function startDaemon(op: Op<'daemon.start'>, ctx: OperationContext): Promise<OperationResult['daemon.start']> {
  const {checkReady} = await import('../lab/services.js')
  const running = runningPid(op.spec.pidFile) ?? adoptOrphan(op.spec)
  let pid = running ?? spawnDaemon(op.spec)
  const t0 = Date.now()
  const detail = await waitUntil({what: `${op.service}${op.leads ? ' leading its cluster' : ''}`, timeoutMs: op.timeoutMs, intervalMs: 200, maxIntervalMs: 200, signal: ctx.signal,
    code: 'LAB_NOT_READY', suggestions: [`See ${op.spec.logFile}.`], onStatus: (s, ms) => ctx.note(`waiting for ${op.service} (${(ms / 1000).toFixed(1)} s): ${s}`)}, async () => {
    if (!alive(pid)) {
      // A server that binds without SO_REUSEADDR (moto's) cannot start while the previous
      // instance's connections sit in TIME_WAIT on its port (up to 60 s): start it again.
      if (/in use/i.test(logTail(op.spec.logFile)) && !(await portInUse(op.port))) {
        await sleep(2000)
        pid = spawnDaemon(op.spec)
        return {done: false, status: `port ${op.port} was in TIME_WAIT; started again`}
      }
      throw failure('LAB_START_FAILED', `${op.service} exited during start-up; see ${op.spec.logFile}`, [`tail ${op.spec.logFile}`])
    }
    const r = await checkReady(op.layout, op.service as never)
    if (!r.ready) return {done: false, status: r.detail}
    if (op.leads && !/^(leader|master|primary|standby_leader) /.test(r.detail)) return {done: false, status: `${r.detail}, not leading yet`}
    return {done: true, value: r.detail}
  })
  return {pid, alreadyRunning: running !== undefined, readyAfterMs: Date.now() - t0, detail}
}

async function awaitPatroni(op: Op<'patroni.await-healthy'>, ctx: OperationContext): Promise<OperationResult['patroni.await-healthy']> {
  const {getCluster} = await import('./patroni.js')
  const members = await waitUntil({what: 'a Patroni leader and every member running', timeoutMs: op.timeoutMs, intervalMs: 200, maxIntervalMs: 500, signal: ctx.signal,
    code: 'LAB_NOT_READY', onStatus: (s) => ctx.note(s)}, async () => {
    const c = await getCluster(op.api)
    const leader = c.members.find((m) => ['leader', 'master', 'primary', 'standby_leader'].includes(m.role))
    const healthy = c.members.filter((m) => ['running', 'streaming'].includes(m.state))
    const seen = c.members.map((m) => `${m.name}:${m.role}/${m.state}`).join(' ')
    return leader && healthy.length === op.members ? {done: true, value: seen} : {done: false, status: seen}
  })
  return {members}
}

async function archiveCommand(op: Op<'patroni.archive-command'>): Promise<OperationResult['patroni.archive-command']> {
  // Patroni applies bootstrap settings only once: a lab created earlier may archive elsewhere.
  const {getConfig, patchConfig, postReload} = await import('./patroni.js')
  // patroni.yml was rewritten by `lab.prepare` (pg_hba may have changed): each member re-reads it.
  for (const a of op.apis) await postReload(a).catch(() => undefined)
  const cfg = await getConfig(op.apis[0]!) as {postgresql?: {parameters?: {archive_command?: string}}}
  if (cfg.postgresql?.parameters?.archive_command === op.archiveCommand) return {changed: false}
  await patchConfig(op.apis[0]!, {postgresql: {parameters: {archive_command: op.archiveCommand}}})
  return {changed: true}
}

async function backfill(op: Op<'prometheus.backfill'>): Promise<OperationResult['prometheus.backfill']> {
  const {generateOpenMetrics} = await import('../lab/metrics.js')
  const om = join(op.dir, 'vault-metrics.om')
  const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000)
  const out = createWriteStream(om)
  for (const line of generateOpenMetrics({end, days: op.days, stepSeconds: op.stepSeconds})) {
    if (!out.write(line + '\n')) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  const r = await run(op.promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=24h', om, join(op.dir, 'tsdb')], {timeoutMs: 10 * 60_000})
  if (r.exitCode !== 0) throw failure('PROMTOOL_FAILED', `promtool failed: ${(r.stderr || r.stdout).trim().slice(-400)}`)
  rmSync(om, {force: true})
  writeFileSync(join(op.dir, 'backfilled'), JSON.stringify({end: end.toISOString(), days: op.days, stepSeconds: op.stepSeconds, seed: 42}) + '\n')
  return {until: end.toISOString()}
}

async function kubeNodes(op: Op<'kube.nodes'>, ctx: OperationContext): Promise<OperationResult['kube.nodes']> {
  const {kubeConfig, ensureNodes, leaseAges, nodeReadiness} = await import('./kube.js')
  const kc = await kubeConfig(op.kubeconfig)
  const {created} = await ensureNodes(kc, op.nodes)
  const ready = await waitUntil({what: `${op.nodes.length} Ready nodes`, timeoutMs: op.timeoutMs, intervalMs: 200, maxIntervalMs: 1000, signal: ctx.signal, code: 'LAB_NOT_READY',
    onStatus: (s) => ctx.note(s)}, async () => {
    const [nodes, ages] = await Promise.all([nodeReadiness(kc), leaseAges(kc)])
    // Ready, and a lease renewed by the kwok running now (after a restart, kwok takes a node over only once its old lease expired)
    const n = op.nodes.filter((w) => nodes.some((x) => x.name === w.name && x.ready) && (ages[w.name] ?? Infinity) < op.leaseSeconds).length
    return n === op.nodes.length ? {done: true, value: n} : {done: false, status: `${n}/${op.nodes.length} nodes Ready with a fresh lease`}
  })
  return {created, ready}
}

async function awaitJob(op: Op<'kube.await-job'>, ctx: OperationContext): Promise<OperationResult['kube.await-job']> {
  const {clusterConfig, jobState} = await import('./kube.js')
  const kc = await clusterConfig(op.cluster)
  const t0 = Date.now()
  const s = await waitUntil({what: `job ${op.namespace}/${op.name} to finish`, timeoutMs: op.timeoutMs, intervalMs: 1000, maxIntervalMs: 5000, signal: ctx.signal, code: 'JOB_TIMEOUT',
    suggestions: [`It goes on in the cluster: kubectl -n ${op.namespace} get job ${op.name}; each pod's result: kubectl -n ${op.namespace} logs -l job-name=${op.name}`],
    onStatus: (x) => ctx.note(x)}, async () => {
    const j = await jobState(kc, op.namespace, op.name)
    return j.condition ? {done: true, value: j} : {done: false, status: `${j.succeeded}/${j.completions} shards done, ${j.active} running, ${j.failed} failed attempts`}
  })
  if (s.condition === 'Failed') {
    throw failure('JOB_FAILED', `job ${op.namespace}/${op.name} failed: ${s.succeeded}/${s.completions} shards done${s.failedIndexes ? `, failed shards ${s.failedIndexes}` : ''}`,
      [`Each shard's output: kubectl -n ${op.namespace} logs -l job-name=${op.name}; a re-run of the same restore converges (keys already restored are left alone).`])
  }
  return {succeeded: s.succeeded, completions: s.completions, seconds: (Date.now() - t0) / 1000}
}

export async function runLabOperation(op: LabOperation, ctx: OperationContext): Promise<OperationResult[LabOperation['kind']]> {
  switch (op.kind) {
    case 'program.run': {
      const r = await run(op.argv[0]!, op.argv.slice(1), {env: op.env, pass: TOOL_ENV.build, timeoutMs: op.timeoutMs})
      if (r.exitCode !== 0) throw failure('COMMAND_FAILED', `${op.argv[0]} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`)
      return {exitCode: r.exitCode}
    }
    case 'lab.prepare': {
      const {prepareLabFiles} = await import('./lab-files.js')
      prepareLabFiles(op.layout)
      return {dir: op.layout.dir}
    }
    case 'daemon.start':
      return startDaemon(op, ctx)
    case 'patroni.await-healthy':
      return awaitPatroni(op, ctx)
    case 'patroni.archive-command':
      return archiveCommand(op)
    case 'redis.form-cluster': {
      const {createCluster, waitClusterHealthy} = await import('../lab/redis-cluster.js')
      const {parseHostPort} = await import('./redis.js')
      const conns = op.nodes.map(parseHostPort)
      if (op.everFormed) await waitClusterHealthy(conns, op.timeoutMs, ctx.signal)
      else await createCluster(conns, op.timeoutMs, ctx.signal)
      return {created: !op.everFormed}
    }
    case 's3.versioned-buckets': {
      const {s3Client, ensureVersionedBucket} = await import('./s3.js')
      const client = await s3Client({endpoint: op.endpoint, region: op.region, forcePathStyle: true,
        accessKeyId: resolveSecret({file: op.accessKeyFile}, 'the lab\'s S3 access key'), secretAccessKey: resolveSecret({file: op.secretKeyFile}, 'the lab\'s S3 secret key')})
      try {
        for (const b of op.buckets) await ensureVersionedBucket(client, b, op.region, op.objectLock?.bucket === b ? op.objectLock : undefined)
        if (op.lifecycle) {
          const {PutBucketLifecycleConfigurationCommand} = await import('@aws-sdk/client-s3')
          await client.send(new PutBucketLifecycleConfigurationCommand({Bucket: op.lifecycle.bucket, LifecycleConfiguration: op.lifecycle.configuration as never}))
        }
      } finally {
        client.destroy()
      }
      return {buckets: op.buckets}
    }
    case 'prometheus.backfill':
      return backfill(op)
    case 'file.write': {
      if (!existsSync(dirname(op.path))) mkdirSync(dirname(op.path), {recursive: true})
      writeFileSync(op.path, op.content)
      return {path: op.path}
    }
    case 'kube.nodes':
      return kubeNodes(op, ctx)
    case 'kube.apply': {
      const {clusterConfig, applyObjects} = await import('./kube.js')
      return {applied: await applyObjects(await clusterConfig(op.cluster), op.objects)}
    }
    case 'kube.await-job':
      return awaitJob(op, ctx)
  }
}
