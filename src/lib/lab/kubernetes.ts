// The lab's Kubernetes (`lab up --with kubernetes`): etcd 3.6, the real kube-apiserver,
// controller-manager and scheduler, and kwok for nodes and pods, on 127.0.0.1 with their own PKI
// (openssl), kubeconfigs, and fake nodes labelled like the architecture's node pools (its 3.3).
import {join} from 'node:path'
import {stringify} from 'yaml'
import type {SpawnSpec} from '../clients/process.js'
import {k8sBinDir, kubeEtcdBinDir, kwokBinDir, kwokStageFiles, veleroBinDir, veleroPluginDir} from './binaries.js'
import type {LabLayout} from './layout.js'

export const KUBE_SERVICES = ['kube-etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const
/** Velero's server runs with the control plane when the lab also has S3 (its backups go there). */
export const VELERO_SERVICE = 'velero' as const
export type KubeService = (typeof KUBE_SERVICES)[number] | typeof VELERO_SERVICE
export const kubeServices = (l: LabLayout): KubeService[] => [...KUBE_SERVICES, ...(l.components.includes('s3') ? [VELERO_SERVICE] : [])]
export const VELERO_NAMESPACE = 'velero'
/** controller-runtime's metrics server in Velero's server binds :8080, with no flag to move it. */
export const VELERO_FIXED_PORT = 8080
/** Where the lab's Velero keeps its backups: the lab's backups bucket, under this prefix. */
export const VELERO_PREFIX = 'velero'
export const veleroTmpDir = (l: LabLayout) => join(kubeDir(l), 'velero-tmp')

export const kubeDir = (l: LabLayout) => join(l.dir, 'kubernetes')
export const pkiDir = (l: LabLayout) => join(kubeDir(l), 'pki')
export const kubeconfigFile = (l: LabLayout, who: KubeUser = 'admin') => join(kubeDir(l), `${who}.kubeconfig`)
export const apiserverUrl = (l: LabLayout) => `https://127.0.0.1:${l.ports['kube-apiserver']}`
export const LAB_CONTEXT = 'vaultctl-lab'

type KubeUser = 'admin' | 'controller-manager' | 'scheduler'
/** Client certificates: their subject is who they are to the API server (O=system:masters: cluster-admin). */
const CLIENTS: Record<KubeUser, string> = {
  admin: '/O=system:masters/CN=vaultctl-lab-admin',
  'controller-manager': '/CN=system:kube-controller-manager',
  scheduler: '/CN=system:kube-scheduler',
}
const pki = (l: LabLayout, f: string) => join(pkiDir(l), f)

/** The PKI, as openssl commands (EC keys: fast): a CA, the API server's serving cert, client certs, the service-account key pair. */
export function pkiCommands(l: LabLayout): {title: string; argv: string[]}[] {
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const signed = (name: string, subject: string, san?: string) => [
    {title: `${name}: key and certificate request`, argv: ['openssl', 'req', ...key, '-keyout', pki(l, `${name}.key`), '-out', pki(l, `${name}.csr`), '-subj', subject, ...(san ? ['-addext', `subjectAltName=${san}`] : [])]},
    {title: `${name}: certificate signed by the lab CA`, argv: ['openssl', 'x509', '-req', '-in', pki(l, `${name}.csr`), '-CA', pki(l, 'ca.crt'), '-CAkey', pki(l, 'ca.key'), '-CAcreateserial',
      '-out', pki(l, `${name}.crt`), '-days', '3650', ...(san ? ['-copy_extensions', 'copy'] : [])]},
  ]
  return [
    {title: 'the lab CA', argv: ['openssl', 'req', '-x509', ...key, '-keyout', pki(l, 'ca.key'), '-out', pki(l, 'ca.crt'), '-days', '3650', '-subj', '/CN=vaultctl-lab-ca']},
    ...signed('apiserver', '/CN=kube-apiserver', 'IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc'),
    ...(Object.entries(CLIENTS) as [KubeUser, string][]).flatMap(([who, subject]) => signed(who, subject)),
    {title: 'service-account signing key', argv: ['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pki(l, 'sa.key')]},
    {title: 'service-account public key', argv: ['openssl', 'ec', '-in', pki(l, 'sa.key'), '-pubout', '-out', pki(l, 'sa.pub')]},
  ]
}

export const pkiFiles = (l: LabLayout) => ['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key', ...Object.keys(CLIENTS).flatMap((w) => [`${w}.crt`, `${w}.key`]), 'sa.key', 'sa.pub'].map((f) => pki(l, f))

/** A kubeconfig naming files (no key material in it). */
export function kubeconfigText(l: LabLayout, who: KubeUser = 'admin'): string {
  return stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': LAB_CONTEXT,
    clusters: [{name: 'vaultctl-lab', cluster: {server: apiserverUrl(l), 'certificate-authority': pki(l, 'ca.crt')}}],
    users: [{name: who, user: {'client-certificate': pki(l, `${who}.crt`), 'client-key': pki(l, `${who}.key`)}}],
    contexts: [{name: LAB_CONTEXT, context: {cluster: 'vaultctl-lab', user: who}}],
  })
}

export const KUBE_USERS = Object.keys(CLIENTS) as KubeUser[]

export function kubeSpawnSpec(l: LabLayout, s: KubeService, common: {pidFile: string; logFile: string}): SpawnSpec {
  const p = l.ports
  if (s === 'kube-etcd') {
    const peer = `http://127.0.0.1:${p['kube-etcd-peer']}`
    return {...common, command: join(kubeEtcdBinDir(), 'etcd'), args: ['--name', 'kube', '--data-dir', join(kubeDir(l), 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${p['kube-etcd']}`, '--advertise-client-urls', `http://127.0.0.1:${p['kube-etcd']}`,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `kube=${peer}`, '--log-level', 'warn']}
  }
  if (s === 'kube-apiserver') {
    return {...common, command: join(k8sBinDir(), 'kube-apiserver'), args: [
      `--etcd-servers=http://127.0.0.1:${p['kube-etcd']}`, '--bind-address=127.0.0.1', `--secure-port=${p['kube-apiserver']}`, '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none', `--tls-cert-file=${pki(l, 'apiserver.crt')}`, `--tls-private-key-file=${pki(l, 'apiserver.key')}`, `--client-ca-file=${pki(l, 'ca.crt')}`,
      `--service-account-key-file=${pki(l, 'sa.pub')}`, `--service-account-signing-key-file=${pki(l, 'sa.key')}`, '--service-account-issuer=https://kubernetes.default.svc',
      '--authorization-mode=Node,RBAC', '--service-cluster-ip-range=10.96.0.0/16', '--allow-privileged=true', '--profiling=false']}
  }
  if (s === 'kube-controller-manager') {
    return {...common, command: join(k8sBinDir(), 'kube-controller-manager'), args: [
      `--kubeconfig=${kubeconfigFile(l, 'controller-manager')}`, `--authentication-kubeconfig=${kubeconfigFile(l, 'controller-manager')}`, `--authorization-kubeconfig=${kubeconfigFile(l, 'controller-manager')}`,
      '--leader-elect=false', '--use-service-account-credentials', `--service-account-private-key-file=${pki(l, 'sa.key')}`, `--root-ca-file=${pki(l, 'ca.crt')}`,
      `--cluster-signing-cert-file=${pki(l, 'ca.crt')}`, `--cluster-signing-key-file=${pki(l, 'ca.key')}`, '--bind-address=127.0.0.1', `--secure-port=${p['kube-controller-manager']}`, '--profiling=false']}
  }
  if (s === 'kube-scheduler') {
    return {...common, command: join(k8sBinDir(), 'kube-scheduler'), args: [
      `--kubeconfig=${kubeconfigFile(l, 'scheduler')}`, `--authentication-kubeconfig=${kubeconfigFile(l, 'scheduler')}`, `--authorization-kubeconfig=${kubeconfigFile(l, 'scheduler')}`,
      '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${p['kube-scheduler']}`, '--profiling=false']}
  }
  if (s === VELERO_SERVICE) {
    // Velero writes the BSL's credentials under $TMPDIR/credentials (no flag): its own TMPDIR.
    // Its AWS plugin (a child process) finds the lab's S3 keys in its environment.
    return {...common, command: join(veleroBinDir(), 'velero'), args: ['server', `--kubeconfig=${kubeconfigFile(l, 'admin')}`, `--namespace=${VELERO_NAMESPACE}`,
      `--plugin-dir=${veleroPluginDir()}`, `--metrics-address=127.0.0.1:${p['velero-metrics']}`, `--profiler-address=127.0.0.1:${p['velero-profiler']}`,
      '--backup-sync-period=10s', '--store-validation-frequency=10s', '--log-level=info'],
    env: {TMPDIR: veleroTmpDir(l)}, envFromFiles: {AWS_ACCESS_KEY_ID: join(l.dir, 'secrets', 's3-access-key'), AWS_SECRET_ACCESS_KEY: join(l.dir, 'secrets', 's3-secret-key')}}
  }
  return {...common, command: join(kwokBinDir(), 'kwok'), args: [
    `--kubeconfig=${kubeconfigFile(l, 'admin')}`, ...kwokStageFiles().flatMap((f) => ['--config', f]),
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake', '--node-ip=127.0.0.1', '--cidr=10.244.0.1/24',
    `--node-lease-duration-seconds=${KWOK_LEASE_SECONDS}`, `--server-address=127.0.0.1:${p.kwok}`]}
}

/**
 * kwok's node leases. Without a lease the node goes NotReady after ~50 s; and a kwok that starts
 * again only takes over a node once its previous lease has expired (until then, that node's pods
 * are left Pending): short leases make a lab restart usable within seconds.
 */
export const KWOK_LEASE_SECONDS = 10

/** Where each service says it is ready. */
export function kubeHealthUrl(l: LabLayout, s: KubeService): string {
  if (s === 'kube-etcd') return `http://127.0.0.1:${l.ports['kube-etcd']}/health`
  if (s === 'kwok') return `http://127.0.0.1:${l.ports.kwok}/healthz`
  if (s === VELERO_SERVICE) return `http://127.0.0.1:${l.ports['velero-metrics']}/metrics`
  if (s === 'kube-apiserver') return `${apiserverUrl(l)}/readyz`
  return `https://127.0.0.1:${l.ports[s]}/healthz`
}

/** A node of the lab: a pool of the architecture (its 3.3: labels and taints as eksctl gives them) in a zone. */
export type LabNode = {name: string; labels: Record<string, string>; taints: {key: string; value: string; effect: string}[]; capacity: {cpu: string; memory: string; pods: string; 'ephemeral-storage': string}}

const ZONES = ['a', 'b', 'c']
// disk: the production profile's node volume sizes (templates/eksctl/profiles.yaml): pods that ask for ephemeral-storage fit
const POOLS: {pool: string; labels: Record<string, string>; taints: LabNode['taints']; instance: string; cpu: string; memory: string; disk: string}[] = [
  {pool: 'system', labels: {workload: 'system', tier: 'system'}, taints: [], instance: 'm6i.large', cpu: '2', memory: '8Gi', disk: '50Gi'},
  {pool: 'api', labels: {workload: 'api', tier: 'frontend'}, taints: [{key: 'workload', value: 'api', effect: 'NoSchedule'}], instance: 'c6i.2xlarge', cpu: '8', memory: '16Gi', disk: '100Gi'},
  {pool: 'worker', labels: {workload: 'worker', tier: 'backend', capacity: 'on-demand'}, taints: [], instance: 'c6i.4xlarge', cpu: '16', memory: '32Gi', disk: '150Gi'},
  {pool: 'data', labels: {workload: 'database', tier: 'data'}, taints: [{key: 'workload', value: 'database', effect: 'NoSchedule'}], instance: 'r6i.2xlarge', cpu: '8', memory: '64Gi', disk: '200Gi'},
]

export function labNodes(region = 'us-east-1'): LabNode[] {
  return POOLS.flatMap((p) => ZONES.map((z) => ({
    name: `lab-${p.pool}-${z}`,
    labels: {...p.labels, 'vaultctl.io/pool': p.pool, 'topology.kubernetes.io/region': region, 'topology.kubernetes.io/zone': `${region}${z}`,
      'node.kubernetes.io/instance-type': p.instance, 'kubernetes.io/hostname': `lab-${p.pool}-${z}`, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok'},
    taints: p.taints,
    capacity: {cpu: p.cpu, memory: p.memory, pods: '110', 'ephemeral-storage': p.disk},
  })))
}

/** Velero's objects in the lab (not secret): its namespace, the storage location in the lab's S3, and the 0-replica `velero` Deployment restores look up (without it they end PartiallyFailed). */
export function veleroObjects(l: LabLayout, bucket: string, region: string): Record<string, unknown>[] {
  const labels = {component: 'velero', 'app.kubernetes.io/name': 'velero'}
  return [
    {apiVersion: 'v1', kind: 'Namespace', metadata: {name: VELERO_NAMESPACE, labels}},
    {apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', metadata: {name: 'default', namespace: VELERO_NAMESPACE, labels},
      spec: {provider: 'aws', default: true, accessMode: 'ReadWrite', objectStorage: {bucket, prefix: VELERO_PREFIX},
        config: {region, s3ForcePathStyle: 'true', s3Url: `http://127.0.0.1:${l.ports.s3}`}}},
    {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'velero', namespace: VELERO_NAMESPACE, labels, annotations: {'vaultctl.io/lab': 'the server runs as a local process; this placeholder is what restores look up'}},
      spec: {replicas: 0, selector: {matchLabels: {deploy: 'velero'}}, template: {metadata: {labels: {...labels, deploy: 'velero'}},
        spec: {containers: [{name: 'velero', image: 'velero/velero:v1.18.3', command: ['/velero'], args: ['server']}]}}}},
  ]
}
