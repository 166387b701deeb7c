// The operations of `lab up` and `lab install`, and the command an operator would type for each.
// Pure data: the executor is src/lib/clients/lab-ops.ts.
import type {SpawnSpec} from '../clients/process.js'
import type {LabNode} from '../lab/kubernetes.js'
import type {LabLayout} from '../lab/layout.js'
import {stringify} from 'yaml'
import {shellLine, shellQuote} from './operations.js'

/** A program run to completion as argv (package installs, Go builds), with extra environment. */
export type RunProgram = {kind: 'program.run'; argv: string[]; env?: Record<string, string>; timeoutMs: number}

/** The lab's directories, secrets (kept when they exist) and config files, from its layout. */
export type PrepareLab = {kind: 'lab.prepare'; layout: LabLayout}

/** Start a daemon as spawned by `spec` (unless its pid file names a live one) and wait until it answers; `leads`: until it leads its Patroni cluster. */
export type StartDaemon = {kind: 'daemon.start'; layout: LabLayout; service: string; spec: SpawnSpec; port: number; timeoutMs: number; leads: boolean}

/** Wait until a Patroni cluster has a leader and every member running or streaming. */
export type AwaitPatroniHealthy = {kind: 'patroni.await-healthy'; api: string; members: number; timeoutMs: number; patronictlConfig: string}

/** Set archive_command in Patroni's dynamic configuration (after each member re-read its patroni.yml). */
export type SetArchiveCommand = {kind: 'patroni.archive-command'; apis: string[]; archiveCommand: string
  /** for the printed curl: the REST user and CA (the password is $PATRONI_REST_PASSWORD) */
  rest?: {username: string; caFile: string}}

/** Form the Redis Cluster over the Redis protocol (3 masters, 3 replicas), or wait for a formed one to heal. */
export type FormRedisCluster = {kind: 'redis.form-cluster'; nodes: string[]; everFormed: boolean; timeoutMs: number}

/** Create the buckets (if missing) with versioning enabled; the keys are read from their files. */
export type VersionedBuckets = {kind: 's3.versioned-buckets'; endpoint: string; region: string; buckets: string[]; accessKeyFile: string; secretKeyFile: string
  /** lifecycle rules to set on a bucket (replacing its rules), as S3's LifecycleConfiguration */
  lifecycle?: {bucket: string; configuration: {Rules: Record<string, unknown>[]}}
  /** a bucket created with Object Lock and this default retention (the audit bucket) */
  objectLock?: {bucket: string; mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number}}

/** Generate days of container metrics (fixed seed) and backfill Prometheus' TSDB with promtool. */
export type BackfillMetrics = {kind: 'prometheus.backfill'; dir: string; promtool: string; days: number; stepSeconds: number}

/** Write a file with exactly this content. */
export type WriteFile = {kind: 'file.write'; path: string; content: string}

/** Create the lab's Kubernetes nodes that are missing (kwok makes them Ready) and wait until all are Ready with a lease kwok renewed within leaseSeconds (kwok manages them). */
export type KubeNodes = {kind: 'kube.nodes'; kubeconfig: string; nodes: LabNode[]; leaseSeconds: number; timeoutMs: number}

/** Where a cluster is reached: a kubeconfig file and, optionally, a context in it. */
export type KubeWhere = {kubeconfig: string; context?: string}

/** Server-side apply of these objects (field manager vaultctl). */
export type KubeApply = {kind: 'kube.apply'; cluster: KubeWhere; objects: Record<string, unknown>[]}

/** Wait until a Job is Complete (every index succeeded) or Failed, with progress. */
export type KubeAwaitJob = {kind: 'kube.await-job'; cluster: KubeWhere; namespace: string; name: string; timeoutMs: number}

export type LabOperation = KubeApply | KubeAwaitJob | RunProgram | PrepareLab | StartDaemon | AwaitPatroniHealthy | SetArchiveCommand | FormRedisCluster | VersionedBuckets | BackfillMetrics | WriteFile | KubeNodes

export type LabOperationResult = {
  'program.run': {exitCode: number}
  'lab.prepare': {dir: string}
  'daemon.start': {pid: number; alreadyRunning: boolean; readyAfterMs: number; detail: string}
  'patroni.await-healthy': {members: string}
  'patroni.archive-command': {changed: boolean}
  'redis.form-cluster': {created: boolean}
  's3.versioned-buckets': {buckets: string[]}
  'prometheus.backfill': {until: string}
  'file.write': {path: string}
  'kube.nodes': {created: string[]; ready: number}
  'kube.apply': {applied: string[]}
  'kube.await-job': {succeeded: number; completions: number; seconds: number}
}

/** A daemon's start command as an operator would type it (secrets as $(cat FILE), never values). */
export function spawnLine(spec: SpawnSpec): string {
  const env = [
    ...Object.entries(spec.env ?? {}).filter(([k]) => k !== 'HOME').map(([k, v]) => `${k}=${shellQuote(v)}`),
    ...Object.entries(spec.envFromFiles ?? {}).map(([k, f]) => `${k}=$(cat ${f})`),
  ].join(' ')
  const asUser = spec.user ? 'runuser -u postgres -- ' : ''
  return `${env ? env + ' ' : ''}${asUser}${shellLine([spec.command, ...spec.args])} > ${spec.logFile} 2>&1 &`
}

const kubectl = (c: KubeWhere) => `kubectl --kubeconfig ${shellQuote(c.kubeconfig)}${c.context ? ` --context ${shellQuote(c.context)}` : ''}`

const hostPort = (n: string) => {
  const i = n.lastIndexOf(':')
  return ['-h', n.slice(0, i), '-p', n.slice(i + 1)]
}

export function manualLab(op: LabOperation): string {
  switch (op.kind) {
    case 'program.run':
      return `${Object.entries(op.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)} `).join('')}${shellLine(op.argv)}`
    case 'lab.prepare': {
      const l = op.layout
      return `mkdir -p -m 700 ${shellLine(['run', 'logs', 'secrets', 'prometheus', 's3'].map((d) => `${l.dir}/${d}`))} ${shellQuote(l.pgRoot)}   # then lab.json, secrets (mode 600, kept when present)${l.components.includes('postgres') ? ', patroni.yml for pg-1..3' : ''}${l.components.includes('prometheus') ? ', prometheus.yml' : ''}`
    }
    case 'daemon.start':
      return spawnLine(op.spec)
    case 'patroni.await-healthy':
      return `${shellLine(['patronictl', '-c', op.patronictlConfig, 'list'])}   # until a leader and ${op.members} running/streaming members`
    case 'patroni.archive-command':
    {
      const curl = `${shellLine(['curl', '-s', ...(op.rest ? ['--cacert', op.rest.caFile] : [])])}${op.rest ? ` -u ${shellQuote(op.rest.username)}:"$PATRONI_REST_PASSWORD"` : ''}`
      return [...op.apis.map((a) => `${curl} ${shellLine(['-XPOST', `${a}/reload`])}`),
        `${curl} ${shellLine(['-XPATCH', `${op.apis[0]}/config`, '-d', JSON.stringify({postgresql: {parameters: {archive_command: op.archiveCommand}}})])}`].join('; ')
    }
    case 'redis.form-cluster':
      return op.everFormed
        ? `${shellLine(['redis-cli', ...hostPort(op.nodes[0]!), 'CLUSTER', 'INFO'])}   # until cluster_state:ok on every node`
        : shellLine(['redis-cli', '--cluster', 'create', ...op.nodes, '--cluster-replicas', '1', '--cluster-yes'])
    case 's3.versioned-buckets': {
      const keys = `AWS_ACCESS_KEY_ID=$(cat ${op.accessKeyFile}) AWS_SECRET_ACCESS_KEY=$(cat ${op.secretKeyFile})`
      return [...op.buckets.map((b) => `${keys} ${shellLine(['aws', '--endpoint-url', op.endpoint, 's3api', 'put-bucket-versioning', '--bucket', b, '--versioning-configuration', 'Status=Enabled'])}`),
        ...(op.lifecycle ? [`${keys} ${shellLine(['aws', '--endpoint-url', op.endpoint, 's3api', 'put-bucket-lifecycle-configuration', '--bucket', op.lifecycle.bucket, '--lifecycle-configuration', JSON.stringify(op.lifecycle.configuration)])}`] : []),
        ...(op.objectLock ? [`${keys} ${shellLine(['aws', '--endpoint-url', op.endpoint, 's3api', 'put-object-lock-configuration', '--bucket', op.objectLock.bucket, '--object-lock-configuration',
          JSON.stringify({ObjectLockEnabled: 'Enabled', Rule: {DefaultRetention: {Mode: op.objectLock.mode, Days: op.objectLock.days}}})])}   # the bucket created with --object-lock-enabled-for-bucket`] : [])].join(' && ')
    }
    case 'prometheus.backfill': {
      const om = `${op.dir}/vault-metrics.om`
      return `vaultctl lab metrics > ${shellQuote(om)} && ${shellLine([op.promtool, 'tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=24h', om, `${op.dir}/tsdb`])}`
    }
    case 'file.write':
      return `cat > ${shellQuote(op.path)} <<'EOF'\n${op.content.replace(/\n$/, '')}\nEOF`
    case 'kube.apply':
      return `${kubectl(op.cluster)} apply --server-side --field-manager vaultctl -f - <<'EOF'\n${op.objects.map((o) => stringify(o, {aliasDuplicateObjects: false})).join('---\n').replace(/\n$/, '')}\nEOF`
    case 'kube.await-job':
      return `${kubectl(op.cluster)} -n ${shellQuote(op.namespace)} wait --for=condition=complete job/${op.name} --timeout=${Math.round(op.timeoutMs / 1000)}s`
    case 'kube.nodes':
      return op.nodes.map((n) => `kubectl --kubeconfig ${shellQuote(op.kubeconfig)} apply -f - <<'EOF'\n${JSON.stringify({apiVersion: 'v1', kind: 'Node',
        metadata: {name: n.name, labels: n.labels, annotations: {'kwok.x-k8s.io/node': 'fake'}}, spec: {taints: n.taints}, status: {capacity: n.capacity, allocatable: n.capacity}})}\nEOF`)
        .join('\n') + `\nkubectl --kubeconfig ${shellQuote(op.kubeconfig)} wait --for=condition=Ready node --all --timeout=${Math.round(op.timeoutMs / 1000)}s`
  }
}
