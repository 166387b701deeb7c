// The `lab` environment that `lab up` writes: a normal vaultctl config file in the lab dir, with
// secrets referenced by file, so every other command works against the lab with no config.
import {stringify} from 'yaml'
import {labConfigFile} from '../paths.js'
import type {EnvironmentInput} from '../config/schema.js'
import {LAB_BUCKETS, PG_MEMBERS, REDIS_NODES, portOf, type LabComponent, type LabLayout} from './layout.js'
import {PG_BIN_DIR} from './binaries.js'
import {LAB_REGION, PATRONI_REST_USER, labCaFile, labPgTls, memberDir, patroniUrl, secretFile} from './services.js'
import {join} from 'node:path'
import {LAB_CONTEXT, kubeconfigFile} from './kubernetes.js'

export function labEnvironment(l: LabLayout): EnvironmentInput {
  const has = (c: LabComponent) => l.components.includes(c)
  const env: EnvironmentInput = {
    description: `local lab (vaultctl lab up) in ${l.dir}`,
    protected: false,
    kubernetes: {namespaces: {app: 'llm-vault-prod', data: 'llm-vault-data', jobs: 'llm-vault-jobs'}},
    postgres: {
      kind: 'patroni',
      cluster: l.cluster,
      endpoints: PG_MEMBERS.map((i) => patroniUrl(l, i)),
      host: '127.0.0.1',
      database: 'postgres',
      user: 'postgres',
      passwordFrom: {file: secretFile(l, 'postgres-superuser')},
      // The lab turns on what production has: TLS to PostgreSQL, HTTPS and a password for Patroni's REST API.
      tls: labPgTls(l),
      rest: {username: PATRONI_REST_USER, passwordFrom: {file: secretFile(l, 'patroni-rest')}, caFile: labCaFile(l)},
      binDir: PG_BIN_DIR,
      patronictlConfig: join(memberDir(l, 1), 'patroni.yml'),
      backup: {bucket: LAB_BUCKETS.backups, prefix: 'postgres/'},
    },
    redis: {nodes: REDIS_NODES.map((i) => `127.0.0.1:${portOf(l, `redis-${i}`)}`), tls: {caFile: labCaFile(l)}},
    s3: {
      endpoint: `http://127.0.0.1:${l.ports.s3}`,
      region: LAB_REGION,
      forcePathStyle: true,
      accessKeyIdFrom: {file: secretFile(l, 's3-access-key')},
      secretAccessKeyFrom: {file: secretFile(l, 's3-secret-key')},
      buckets: {...LAB_BUCKETS},
    },
    velero: {namespace: 'velero'},
    prometheus: {url: `http://127.0.0.1:${l.ports.prometheus}`},
  }
  if (has('kubernetes')) env.kubernetes = {kubeconfig: kubeconfigFile(l), context: LAB_CONTEXT, namespaces: {app: 'llm-vault-prod', data: 'llm-vault-data', jobs: 'llm-vault-jobs'}}
  if (!has('postgres')) delete env.postgres
  if (!has('redis')) delete env.redis
  if (!has('s3')) delete env.s3
  if (!has('prometheus')) delete env.prometheus
  return env
}

/** The lab's config file, exactly as `lab up` writes it. */
export function labEnvironmentText(l: LabLayout): string {
  const doc = {apiVersion: 'vaultctl/v1', defaultEnvironment: 'lab', environments: {lab: labEnvironment(l)}}
  return `# Written by \`vaultctl lab up\`; rewritten on every run.\n${stringify(doc)}`
}

export const labEnvironmentFile = (l: LabLayout): string => labConfigFile(l.dir)
