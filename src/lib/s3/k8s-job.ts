// `restore s3 --engine k8s-job`: the restore spread over a Kubernetes Indexed Job of N pods, pod I
// running this same restore for hash partition I/N (`--shard`), rendered from
// templates/jobs/s3-restore.yaml. Pure: the manifests come from the options and the environment.
import {createHash} from 'node:crypto'
import type {Environment} from '../config/schema.js'
import {readYamlTemplates, substitute} from '../template.js'
import type {S3RestoreOptions} from './restore.js'

export type K8sJobOptions = {
  /** the environment the pods restore in (its name and s3 section go into their config) */
  envName: string
  env: Pick<Environment, 'protected' | 's3' | 'kubernetes'>
  shards: number
  image: string
  serviceAccount: string
  /** a Secret with keys access-key-id and secret-access-key; without it the pods use their own AWS identity (IRSA) */
  credentialsSecret?: string
  deadlineSeconds: number
}

const CONFIG_DIR = '/etc/vaultctl'
const STATE_DIR = '/var/lib/vaultctl'

/** The restore's own flags, as one pod runs them: the same selection, its shard, no prompt. */
export function shardArgs(o: S3RestoreOptions, envName: string, shards: number): string[] {
  const m = o.mode
  return ['restore', 's3', '--env', envName, '--bucket', o.bucket,
    ...(o.key !== undefined ? ['--key', o.key] : o.prefix ? ['--prefix', o.prefix] : []),
    ...(m.kind === 'version' ? ['--version-id', m.versionId] : ['--to', m.t.toISOString(), ...(m.kind === 'undelete' ? ['--undelete'] : [])]),
    ...(o.fromBucket ? ['--from-bucket', o.fromBucket] : []), ...(o.toBucket ? ['--to-bucket', o.toBucket] : []), ...(o.toPrefix !== undefined ? ['--to-prefix', o.toPrefix] : []),
    '--concurrency', String(o.concurrency), '--multipart-threshold', String(o.multipartThreshold), '--part-size', String(o.partSize),
    ...(o.force ? ['--force'] : []), ...(o.acceptLock ? ['--accept-object-lock'] : []), '--shard', `$(JOB_COMPLETION_INDEX)/${shards}`, '--yes', '--json']
}

/** The pods' vaultctl.yaml: only this environment's s3 section, credentials by reference. */
export function podConfig(j: K8sJobOptions): Record<string, unknown> {
  const s3 = j.env.s3!
  return {apiVersion: 'vaultctl/v1', defaultEnvironment: j.envName, environments: {[j.envName]: {
    description: `restore s3 pods (rendered by vaultctl restore s3 --engine k8s-job)`, protected: j.env.protected,
    s3: {...(s3.endpoint ? {endpoint: s3.endpoint} : {}), region: s3.region, forcePathStyle: s3.forcePathStyle, buckets: s3.buckets,
      ...(j.credentialsSecret ? {accessKeyIdFrom: {env: 'AWS_ACCESS_KEY_ID'}, secretAccessKeyFrom: {env: 'AWS_SECRET_ACCESS_KEY'}} : {})},
  }}}
}

export const jobName = (args: string[]): string => `vaultctl-restore-s3-${createHash('sha256').update(args.join('\0')).digest('hex').slice(0, 10)}`

/** The ConfigMap and the Indexed Job, as Kubernetes objects. */
export async function renderRestoreJob(o: S3RestoreOptions, j: K8sJobOptions): Promise<Record<string, unknown>[]> {
  const {stringify} = await import('yaml')
  const args = shardArgs(o, j.envName, j.shards)
  const name = jobName(args)
  const secretEnv = (name: string, key: string) => ({name, valueFrom: {secretKeyRef: {name: j.credentialsSecret, key}}})
  const data = {
    name, namespace: j.env.kubernetes?.namespaces.jobs ?? 'llm-vault-jobs',
    labels: {'app.kubernetes.io/name': 'vaultctl', 'app.kubernetes.io/component': 'restore-s3', 'app.kubernetes.io/managed-by': 'vaultctl'},
    annotations: {'vaultctl.io/command': ['vaultctl', ...args].join(' '), 'vaultctl.io/source': `s3://${o.fromBucket ?? o.bucket}/${o.key ?? o.prefix}`},
    config: stringify(podConfig(j)), shards: j.shards, parallelism: j.shards, deadlineSeconds: j.deadlineSeconds,
    serviceAccount: j.serviceAccount, image: j.image, args,
    env: [{name: 'VAULTCTL_CONFIG', value: `${CONFIG_DIR}/vaultctl.yaml`}, {name: 'HOME', value: STATE_DIR}, {name: 'XDG_STATE_HOME', value: STATE_DIR},
      {name: 'NO_COLOR', value: '1'}, ...(j.credentialsSecret ? [secretEnv('AWS_ACCESS_KEY_ID', 'access-key-id'), secretEnv('AWS_SECRET_ACCESS_KEY', 'secret-access-key')] : [])],
  }
  const docs = await readYamlTemplates<Record<string, unknown>>('jobs', 's3-restore.yaml')
  return docs.map((d) => substitute(d, data) as Record<string, unknown>)
}
