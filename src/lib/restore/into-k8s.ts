// `restore pitr --into cluster` for Patroni in a Kubernetes StatefulSet: the architecture's runbook
// (8.3) done right, executed through the Kubernetes API. Patroni is reached through its REST API
// on each pod, via the API server's pod proxy (as `kubectl port-forward` would); scaling, the
// Secret and the restore Job through the API. Pure: the plan comes from what was observed.
import {z} from 'zod'
import {parseWith} from '../clients/files.js'
import {dirname} from 'node:path'
import {stringify} from 'yaml'
import {refusal} from '../errors.js'
import type {KubeWhere} from '../plan/ops-lab.js'
import {shellQuote} from '../shell.js'
import type {Plan, Precondition, Step} from '../plan/types.js'
import {readYamlTemplate, substitute} from '../template.js'
import {describeTarget, type RecoveryTarget} from './target.js'
import {targetSlug} from './pitr.js'

export type StatefulSetTarget = {
  cluster: string
  namespace: string
  statefulSet: string
  container: string
  replicas: number
  volumeClaimTemplate: string
  dataDir: string
  image: string
  user: string
  /** Patroni's REST port in each pod */
  patroniPort: number
}

/** What the planner saw of the StatefulSet, its claim, a restore of ours, and Patroni on pod 0. */
export type StatefulSetObserved = {
  statefulSet?: {replicas: number; ready: number; annotations: Record<string, string>}
  claimExists: boolean
  /** the restore Job of this target, when one exists */
  job?: {name: string; state: 'active' | 'complete' | 'failed'}
  /** a restore Job of another target that has not finished */
  otherJob?: string
  /** pod 0's Patroni, read through the API server's pod proxy; or why it could not be */
  patroni: {role: string; state: string; timeline: number; paused: boolean} | {error: string}
}

export const PITR_ANNOTATION = 'vaultctl.io/pitr'
export type PitrRecord = {target: string; timelineBefore: number; startedAt: string}

function targetFlag(t: RecoveryTarget): string[] {
  return t.kind === 'time' ? ['--target-time', t.time.toISOString()] : t.kind === 'lsn' ? ['--target-lsn', t.lsn] : ['--latest']
}

export const restoreJobName = (k: Pick<StatefulSetTarget, 'statefulSet'>, target: RecoveryTarget) =>
  `${k.statefulSet}-pitr-${targetSlug(target).toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 63).replace(/-+$/, '')

/** The restore pod's script: restore beside, stop, strip the recovery settings, swap (old data kept); idempotent. */
export function restoreScript(k: StatefulSetTarget, env: string, target: RecoveryTarget, verifySql?: string): string {
  const slug = targetSlug(target)
  const q = shellQuote
  const restored = `${k.dataDir}.restore-${slug}`
  const kept = `${k.dataDir}.pre-restore-${slug}`
  return [
    `if [ -e ${q(kept)} ] && [ -e ${q(k.dataDir)} ] && [ ! -e ${q(restored)} ]; then echo 'already swapped in: nothing to do'; exit 0; fi`,
    `vaultctl restore pitr --into side --env ${q(env)} ${targetFlag(target).map(q).join(' ')} --data-dir ${q(restored)} --yes${verifySql ? ` --verify-sql ${q(verifySql)}` : ''}`,
    `pg_ctl -D ${q(restored)} stop -m fast`,
    `sed -i '/^# --- vaultctl restore pitr/,$d' ${q(`${restored}/postgresql.auto.conf`)}`,
    `mv ${q(k.dataDir)} ${q(kept)}`,
    `mv ${q(restored)} ${q(k.dataDir)}`,
  ].join(' && ')
}

/** The restore Job (templates/jobs/postgres-pitr.yaml): one pod on pod 0's claim. */
export async function restoreJob(k: StatefulSetTarget, env: string, target: RecoveryTarget, o: {verifySql?: string; deadlineSeconds: number; nodeSelector?: Record<string, string>; tolerations?: unknown[]}): Promise<Record<string, unknown>> {
  const name = restoreJobName(k, target)
  const doc = await readYamlTemplate<Record<string, unknown>>('jobs', 'postgres-pitr.yaml')
  return substitute(doc, {
    name, namespace: k.namespace, image: k.image, deadlineSeconds: o.deadlineSeconds,
    labels: {'app.kubernetes.io/name': 'vaultctl', 'app.kubernetes.io/component': 'postgres-pitr', 'app.kubernetes.io/managed-by': 'vaultctl', 'vaultctl.io/statefulset': k.statefulSet},
    annotations: {'vaultctl.io/target': describeTarget(target)},
    nodeSelector: o.nodeSelector ?? {}, tolerations: o.tolerations ?? [],
    script: restoreScript(k, env, target, o.verifySql), mountPath: dirname(k.dataDir), claim: `${k.volumeClaimTemplate}-${k.statefulSet}-0`,
  }) as Record<string, unknown>
}

/** The restore pod's vaultctl.yaml: the environment's PostgreSQL and backup location, S3 credentials by reference to the Secret's keys. */
export function podConfigText(envName: string, pg: Record<string, unknown>, s3: Record<string, unknown>): string {
  return stringify({apiVersion: 'vaultctl/v1', defaultEnvironment: envName, environments: {[envName]: {
    description: 'restore pitr pod (rendered by vaultctl restore pitr --into cluster)', protected: false,
    postgres: pg, s3: {...s3, accessKeyIdFrom: {env: 'AWS_ACCESS_KEY_ID'}, secretAccessKeyFrom: {env: 'AWS_SECRET_ACCESS_KEY'}}}}})
}

export type StatefulSetPlanInputs = {
  k: StatefulSetTarget
  cluster: KubeWhere
  env: {name: string; protected: boolean}
  target: RecoveryTarget
  verifySql?: string
  job: Record<string, unknown>
  podConfig: string
  timeoutMs: number
  now: Date
}

export function planIntoStatefulSet(i: StatefulSetPlanInputs, seen: StatefulSetObserved): Plan {
  const {k, cluster, env, target} = i
  const sts = seen.statefulSet
  if (!sts) throw refusal('NO_STATEFULSET', `there is no StatefulSet ${k.namespace}/${k.statefulSet} in the cluster`, ['Check postgres.kubernetes.statefulSet and namespace in the config.'])
  if (!seen.claimExists) throw refusal('NO_CLAIM', `pod 0's volume claim ${k.volumeClaimTemplate}-${k.statefulSet}-0 does not exist in ${k.namespace}`, ['Check postgres.kubernetes.volumeClaimTemplate: the claim of pod N is <volumeClaimTemplate>-<statefulSet>-N.'])
  if (seen.otherJob) throw refusal('PITR_BUSY', `another point-in-time restore of ${k.statefulSet} is running: Job ${seen.otherJob}`, [`Let it finish (kubectl -n ${k.namespace} get job ${seen.otherJob}), or re-run with its own target to continue it.`])
  const slug = targetSlug(target)
  const record = parseRecord(sts.annotations[PITR_ANNOTATION])
  if (record && record.target !== slug && seen.job?.state !== 'complete') {
    throw refusal('PITR_BUSY', `a point-in-time restore of ${k.statefulSet} to ${record.target} was started at ${record.startedAt} and has not finished`, ['Re-run it with its own target to finish it; a restore to another target waits until then.'])
  }
  const resuming = record?.target === slug
  const patroni = 'error' in seen.patroni ? undefined : seen.patroni
  const timelineBefore = resuming ? record!.timelineBefore : patroni?.timeline
  const jobName = restoreJobName(k, target)
  const pod = (n: number) => `${k.statefulSet}-${n}`
  const p = (n: number, method: 'GET' | 'PATCH' | 'POST', path: string, patronictl: string[], body?: Record<string, unknown>, expect = [200]) =>
    ({kind: 'kube.patroni' as const, cluster, namespace: k.namespace, pod: pod(n), container: k.container, port: k.patroniPort, method, path, ...(body ? {body} : {}), expect, patronictl})
  const scaled = sts.replicas === 0 || resuming
  const jobDone = seen.job?.state === 'complete'
  const steps: Step[] = []
  if (!resuming) {
    steps.push({id: 'record', title: `record the restore on the StatefulSet (annotation ${PITR_ANNOTATION}: target, timeline ${timelineBefore ?? '?'}) so that a re-run continues it`, risk: 'write',
      op: {kind: 'kube.annotate', cluster, target: {apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: k.namespace, name: k.statefulSet},
        annotations: {[PITR_ANNOTATION]: JSON.stringify({target: slug, timelineBefore: timelineBefore ?? 0, startedAt: i.now.toISOString()} satisfies PitrRecord)}}})
  }
  if (!scaled) steps.push({id: 'pause', title: `pause Patroni on cluster ${k.cluster} (through pod ${pod(0)}'s REST API)`, risk: 'write', op: p(0, 'PATCH', '/config', ['pause', k.cluster, '--wait'], {pause: true})})
  if (!jobDone) {
    steps.push({id: 'scale-down', title: `scale StatefulSet ${k.statefulSet} to 0 and wait until its pods are gone: the outage starts here`, risk: 'destructive',
      op: {kind: 'kube.scale', cluster, namespace: k.namespace, name: k.statefulSet, replicas: 0, wait: 'gone', timeoutMs: 5 * 60_000}})
    steps.push({id: 'restore-secret', title: `Secret ${jobName}: the restore pod's config and S3 credentials`, risk: 'write',
      op: {kind: 'kube.secret', cluster, namespace: k.namespace, name: jobName, labels: {'app.kubernetes.io/managed-by': 'vaultctl'}, data: {'vaultctl.yaml': i.podConfig},
        fromSecrets: {AWS_ACCESS_KEY_ID: 's3.accessKeyId', AWS_SECRET_ACCESS_KEY: 's3.secretAccessKey'}}})
    if (!seen.job) {
      steps.push({id: 'restore-job', title: `Job ${jobName}: restore ${describeTarget(target)} beside the data directory on ${k.volumeClaimTemplate}-${pod(0)}, verify it, swap it in (old data kept in ${k.dataDir}.pre-restore-${slug})`,
        risk: 'destructive', op: {kind: 'kube.apply', cluster, objects: [i.job]}})
    }
    steps.push({id: 'await-restore', title: `wait for Job ${jobName}`, risk: 'read', op: {kind: 'kube.await-job', cluster, namespace: k.namespace, name: jobName, timeoutMs: i.timeoutMs}})
  }
  steps.push({id: 'scale-one', title: `scale StatefulSet ${k.statefulSet} to 1 (only ${pod(0)}, on the restored volume)`, risk: 'write',
    op: {kind: 'kube.scale', cluster, namespace: k.namespace, name: k.statefulSet, replicas: 1, wait: 'running', timeoutMs: 5 * 60_000}})
  steps.push({id: 'start-leader', title: `start PostgreSQL on ${pod(0)} through Patroni (a paused cluster does not start it by itself)`, risk: 'write',
    op: p(0, 'POST', '/restart', ['restart', k.cluster, pod(0), '--force'], {}, [200, 202])})
  steps.push({id: 'verify', title: `verify ${pod(0)}: leader, running, on a timeline after ${timelineBefore ?? 'the one before'}`, risk: 'read',
    op: {kind: 'kube.patroni-await', cluster, namespace: k.namespace, pod: pod(0), container: k.container, port: k.patroniPort, leaderAfterTimeline: timelineBefore ?? 0, timeoutMs: 5 * 60_000}})
  steps.push({id: 'resume', title: `resume Patroni on cluster ${k.cluster}`, risk: 'write', op: p(0, 'PATCH', '/config', ['resume', k.cluster, '--wait'], {pause: false})})
  steps.push({id: 'scale-up', title: `scale StatefulSet ${k.statefulSet} back to ${k.replicas}`, risk: 'write',
    op: {kind: 'kube.scale', cluster, namespace: k.namespace, name: k.statefulSet, replicas: k.replicas, wait: 'running', timeoutMs: 15 * 60_000}})
  for (let n = 1; n < k.replicas; n++) {
    steps.push({id: `reinit-${pod(n)}`, title: `reinitialise replica ${pod(n)} from the new leader`, risk: 'destructive', op: p(n, 'POST', '/reinitialize', ['reinit', k.cluster, pod(n), '--force', '--wait'], {force: true})})
  }
  steps.push({id: 'finish', title: `done: remove the restore record (annotation ${PITR_ANNOTATION})`, risk: 'write',
    op: {kind: 'kube.delete', cluster, objects: [], unannotate: {target: {apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: k.namespace, name: k.statefulSet}, key: PITR_ANNOTATION}}})
  // even when a step failed: the S3 credentials do not stay in the cluster (a re-run makes the Secret again if it still needs it)
  steps.push({id: 'cleanup', title: `delete Secret ${jobName} (the restore pod's S3 credentials)`, risk: 'write', always: true,
    op: {kind: 'kube.delete', cluster, objects: [{apiVersion: 'v1', kind: 'Secret', namespace: k.namespace, name: jobName}]}})
  const preconditions: Precondition[] = scaled ? [] : [{id: 'patroni', description: `pod ${pod(0)}'s Patroni answers through the API server's pod proxy (port ${k.patroniPort})`, observed: seen.patroni,
    async check() {
      return patroni ? {ok: true, detail: `${patroni.role} ${patroni.state} on timeline ${patroni.timeline}${patroni.paused ? ', paused' : ''}`}
        : {ok: false, detail: `Patroni on ${pod(0)} did not answer: ${(seen.patroni as {error: string}).error}`,
          suggestions: [`Is ${pod(0)} running Patroni with its REST API on port ${k.patroniPort} (postgres.kubernetes.patroniPort)? kubectl -n ${k.namespace} get pod ${pod(0)}`]}
    }}]
  return {
    command: 'restore pitr', env: env.name, protected: env.protected, confirmOnProtected: true,
    summary: `${resuming ? 'continue replacing' : 'replace'} the data of ${k.cluster} (StatefulSet ${k.namespace}/${k.statefulSet}) with its state at ${describeTarget(target)}`,
    observed: {statefulSet: `${k.namespace}/${k.statefulSet}`, replicas: sts.replicas, ready: sts.ready, volume: `${k.volumeClaimTemplate}-${pod(0)}`, job: seen.job ?? 'none',
      patroni: seen.patroni, ...(record ? {record} : {})},
    fingerprint: {replicas: sts.replicas, job: seen.job?.state ?? 'none', record: record?.target ?? null},
    preconditions,
    steps,
    recovery: `Re-run the same command: the StatefulSet's ${PITR_ANNOTATION} annotation and the Job tell it where it stopped. The old data stays on ${k.volumeClaimTemplate}-${pod(0)} in ${k.dataDir}.pre-restore-${slug}; to go back by hand: scale to 0, swap the directories back in a pod on that claim, scale up, patronictl resume.`,
  }
}

const PitrRecordSchema = z.object({target: z.string(), timelineBefore: z.number().int(), startedAt: z.string()})

/** The StatefulSet's annotation of a restore in progress; one that is not ours is an error, not a guess. */
function parseRecord(text: string | undefined): PitrRecord | undefined {
  if (!text) return undefined
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    raw = text
  }
  return parseWith(PitrRecordSchema, raw, `the annotation ${PITR_ANNOTATION}`)
}
