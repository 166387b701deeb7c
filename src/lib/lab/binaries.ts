// The programs the lab runs, where to find them, and the exact command that installs each.
import {isExecutable as isExec, pathExists} from '../clients/files.js'
import {dirname, join} from 'node:path'
import {homedir} from 'node:os'
import {toolsCacheDir} from '../paths.js'
import {shellQuote as q} from '../shell.js'
import type {LabComponent, S3Server} from './layout.js'

export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin'
export const MINIO_MODULE = 'github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c'
export const minioCacheBin = () => toolsCacheDir('minio', 'bin')

export function which(name: string, extraDirs: string[] = []): string | undefined {
  if (name.includes('/')) return isExec(name) ? name : undefined
  for (const d of [...extraDirs, ...(process.env.PATH ?? '').split(':')]) {
    if (!d) continue
    const p = join(d, name)
    if (isExec(p)) return p
  }
  return undefined
}

export type Requirement = {
  binary: string
  path?: string
  /** How it is installed: the exact command, as the operator would type it. */
  install: {kind: 'apt'; packages: string[]} | {kind: 'pip'; packages: string[]} | {kind: 'go'; module: string; gobin: string}
    | {kind: 'gomod-file'; module: string; files: string[]; dest: string}
    | {kind: 'script'; script: string; what: string}
    | {kind: 'gomod-build'; module: string; pkg: string; src: string; bin: string; prep?: string; ldflags?: string; about?: string; clean?: boolean; out?: string}
  neededFor: string
}

export function requirements(components: readonly LabComponent[], s3: S3Server[]): Requirement[] {
  const apt = (binary: string, packages: string[], neededFor: string, dirs: string[] = []): Requirement =>
    ({binary, path: which(binary, dirs), install: {kind: 'apt', packages}, neededFor})
  const reqs: Requirement[] = []
  if (components.includes('postgres')) {
    reqs.push(apt('etcd', ['etcd-server', 'etcd-client'], 'Patroni DCS'), apt('patroni', ['patroni', 'python3-etcd'], 'PostgreSQL HA'),
      apt('postgres', ['postgresql-15'], 'PostgreSQL 15', [PG_BIN_DIR]), apt('pg_basebackup', ['postgresql-15'], 'PostgreSQL 15', [PG_BIN_DIR]))
  }
  if (components.includes('redis')) reqs.push(apt('redis-server', ['redis-server'], 'Redis Cluster'))
  if (components.includes('prometheus')) reqs.push(apt('prometheus', ['prometheus'], 'Prometheus'), apt('promtool', ['prometheus'], 'Prometheus TSDB backfill'))
  if (components.includes('kubernetes')) reqs.push(...kubernetesRequirements(), ...(components.includes('s3') ? veleroRequirements() : []))
  if (!components.includes('s3')) return reqs
  if (s3.includes('moto')) reqs.push({binary: 'moto_server', path: binaryPath('moto_server'), install: {kind: 'pip', packages: ['moto[server]']}, neededFor: 'S3 (moto)'})
  if (s3.includes('minio')) {
    reqs.push({binary: 'minio', path: which('minio', [minioCacheBin()]), install: {kind: 'go', module: MINIO_MODULE, gobin: minioCacheBin()}, neededFor: 'S3 (MinIO)'})
  }
  return reqs
}

/**
 * The lab's Kubernetes (../shared/docs/kubernetes-lab.md): the real control plane built from
 * k8s.io/kubernetes (its staging replaces dropped, each k8s.io/* module required at the matching
 * v0.x), etcd 3.6 (Debian's 3.4 lacks RequestWatchProgress: kwok's watches back off), kwok for
 * nodes and pods, and kwok's stage files. Cached under ~/.cache/vaultctl by version.
 */
export const K8S_VERSION = 'v1.34.2'
export const ETCD_VERSION = 'v3.6.4'
export const KWOK_VERSION = 'v0.8.0'
export const k8sBinDir = () => toolsCacheDir('kubernetes', K8S_VERSION, 'bin')
export const kubeEtcdBinDir = () => toolsCacheDir('etcd', ETCD_VERSION, 'bin')
export const kwokBinDir = () => toolsCacheDir('kwok', KWOK_VERSION, 'bin')
export const kwokStageDir = () => toolsCacheDir('kwok', KWOK_VERSION, 'stage')
/** kwok's stage files (its module's kustomize/stage/): nodes become Ready and keep a lease; pods run, complete, go. */
export const KWOK_STAGES = ['node/fast/node-initialize', 'node/heartbeat-with-lease/node-heartbeat-with-lease', 'pod/general/pod-create', 'pod/general/pod-init-container-running',
  'pod/general/pod-init-container-completed', 'pod/general/pod-ready', 'pod/general/pod-complete', 'pod/general/pod-delete']
export const kwokStageFiles = () => KWOK_STAGES.map((f) => join(kwokStageDir(), `${f.split('/').at(-1)}.yaml`))
const K8S_BINARIES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']

function kubernetesRequirements(): Requirement[] {
  const minor = K8S_VERSION.split('.')[1]!
  const version = (pkg: string) => [`-X ${pkg}.gitVersion=${K8S_VERSION}`, `-X ${pkg}.gitMajor=1`, `-X ${pkg}.gitMinor=${minor}`].join(' ')
  const staged = `v0.${K8S_VERSION.slice(3)}`
  const allThere = K8S_BINARIES.every((b) => isExec(join(k8sBinDir(), b)))
  return [
    {binary: 'kube-etcd', path: isExec(join(kubeEtcdBinDir(), 'etcd')) ? join(kubeEtcdBinDir(), 'etcd') : undefined, neededFor: 'Kubernetes (etcd 3.6)',
      install: {kind: 'gomod-build', module: `go.etcd.io/etcd/server/v3@${ETCD_VERSION}`, pkg: '.', src: toolsCacheDir('src', 'etcd'), bin: kubeEtcdBinDir(), out: 'etcd', about: 'about 2 minutes the first time', clean: true,
        prep: `for m in $(sed -n 's/^[[:space:]]*\\(go.etcd.io\\/etcd\\/[a-z0-9/]*\\) => \\.\\..*/\\1/p' go.mod); do "$GO" mod edit -dropreplace=$m -require=$m@${ETCD_VERSION}; done`}},
    {binary: 'kube-apiserver', path: allThere ? join(k8sBinDir(), 'kube-apiserver') : undefined, neededFor: 'Kubernetes control plane',
      install: {kind: 'gomod-build', module: `k8s.io/kubernetes@${K8S_VERSION}`, pkg: K8S_BINARIES.map((b) => `./cmd/${b}`).join(' '), src: toolsCacheDir('src', 'kubernetes'), bin: k8sBinDir(),
        about: 'about 8 minutes the first time', clean: true, ldflags: `${version('k8s.io/component-base/version')} ${version('k8s.io/client-go/pkg/version')}`,
        prep: `rm -f go.work go.work.sum && for m in $(sed -n 's/^[[:space:]]*\\(k8s.io\\/[a-z0-9-]*\\) => \\.\\/staging.*/\\1/p' go.mod); do "$GO" mod edit -dropreplace=$m -require=$m@${staged}; done`}},
    {binary: 'kwok', path: isExec(join(kwokBinDir(), 'kwok')) ? join(kwokBinDir(), 'kwok') : undefined, neededFor: 'Kubernetes nodes and pods (kwok)',
      install: {kind: 'go', module: `sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}`, gobin: kwokBinDir()}},
    {binary: 'kwok-stages', path: kwokStageFiles().every((f) => pathExists(f)) ? kwokStageDir() : undefined, neededFor: 'kwok node and pod lifecycles',
      install: {kind: 'gomod-file', module: `sigs.k8s.io/kwok@${KWOK_VERSION}`, files: KWOK_STAGES.map((f) => `kustomize/stage/${f}.yaml`), dest: kwokStageDir()}},
  ]
}

/**
 * Velero in the lab (with Kubernetes and S3): its server runs as a local process with the AWS
 * plugin, backups in the lab's S3. `go install` refuses velero (a replace of kopia) and the proxy
 * refuses the k8s.io/cli-runtime it asks for: built in a copy, requiring v0.33.13 instead. Its
 * CRDs are rendered once by the binary itself (`velero install --crds-only --dry-run -o yaml`).
 */
export const VELERO_VERSION = 'v1.18.3'
export const VELERO_AWS_PLUGIN_VERSION = 'v1.14.3'
export const veleroBinDir = () => toolsCacheDir('velero', VELERO_VERSION, 'bin')
export const veleroPluginDir = () => toolsCacheDir('velero-plugin-for-aws', VELERO_AWS_PLUGIN_VERSION, 'bin')
export const veleroCrdsFile = () => toolsCacheDir('velero', VELERO_VERSION, 'crds.yaml')

function veleroRequirements(): Requirement[] {
  const velero = join(veleroBinDir(), 'velero')
  return [
    {binary: 'velero', path: isExec(velero) ? velero : undefined, neededFor: 'Velero (cluster backups)',
      install: {kind: 'gomod-build', module: `github.com/vmware-tanzu/velero@${VELERO_VERSION}`, pkg: './cmd/velero', src: toolsCacheDir('src', 'velero'), bin: veleroBinDir(), out: 'velero',
        about: 'about 5 minutes the first time', clean: true, ldflags: `-X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=${VELERO_VERSION}`,
        prep: '"$GO" mod edit -require=k8s.io/cli-runtime@v0.33.13'}},
    {binary: 'velero-plugin-for-aws', path: isExec(join(veleroPluginDir(), 'velero-plugin-for-aws')) ? join(veleroPluginDir(), 'velero-plugin-for-aws') : undefined, neededFor: 'Velero backups in S3',
      install: {kind: 'go', module: `github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws@${VELERO_AWS_PLUGIN_VERSION}`, gobin: veleroPluginDir()}},
    {binary: 'velero-crds', path: pathExists(veleroCrdsFile()) ? veleroCrdsFile() : undefined, neededFor: 'Velero\'s CRDs',
      install: {kind: 'script', script: `${velero} install --crds-only --dry-run -o yaml > ${veleroCrdsFile()}.tmp && mv ${veleroCrdsFile()}.tmp ${veleroCrdsFile()}`, what: `render Velero's CRDs into ${veleroCrdsFile()}`}},
  ]
}

/** The peers the S3 restore benchmark runs vaultctl against (bench/s3-restore.mjs). */
export const MC_MODULE = 'github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9'
export const mcCacheBin = () => toolsCacheDir('mc', 'bin')
export const S3_PIT_RESTORE = 's3-pit-restore==0.9'

/**
 * Tools that are not lab services: helm (provision), the Kubernetes API schema (provision
 * validate), eksctl; mc and s3-pit-restore (the S3 restore benchmark's peers); chromium (the HTML
 * report's test).
 */
export const TOOLS = ['helm', 'k8s-schema', 'eksctl', 'mc', 's3-pit-restore', 'chromium'] as const
export type Tool = (typeof TOOLS)[number]

export type SchemaSource = {name: string; module: string; files: string[]; dest: string}

export function toolRequirements(tools: readonly Tool[], where: {helmBin: string; helmModule: string; schemas: SchemaSource[]; eksctl: {module: string; bin: string; src: string}}): Requirement[] {
  const reqs: Requirement[] = []
  // eksctl's go.mod has replace directives, so `go install pkg@version` refuses it: build in a copy of the module.
  if (tools.includes('eksctl')) reqs.push({binary: 'eksctl', path: which('eksctl', [where.eksctl.bin]), install: {kind: 'gomod-build', module: where.eksctl.module, pkg: './cmd/eksctl', src: where.eksctl.src, bin: where.eksctl.bin}, neededFor: 'provision (eksctl)'})
  if (tools.includes('helm')) reqs.push({binary: 'helm', path: which('helm', [where.helmBin]), install: {kind: 'go', module: where.helmModule, gobin: where.helmBin}, neededFor: 'provision (Helm)'})
  if (tools.includes('chromium')) reqs.push({binary: 'chromium', path: which('chromium'), install: {kind: 'apt', packages: ['chromium']}, neededFor: 'tests: the HTML report in a headless browser'})
  if (tools.includes('mc')) reqs.push({binary: 'mc', path: which('mc', [mcCacheBin()]), install: {kind: 'go', module: MC_MODULE, gobin: mcCacheBin()}, neededFor: 'bench: mc cp --rewind'})
  if (tools.includes('s3-pit-restore')) reqs.push({binary: 's3-pit-restore', path: binaryPath('s3-pit-restore'), install: {kind: 'pip', packages: [S3_PIT_RESTORE]}, neededFor: 'bench: s3-pit-restore'})
  if (tools.includes('k8s-schema')) {
    for (const src of where.schemas) {
      const have = src.files.every((f) => pathExists(join(src.dest, f.split('/').at(-1)!)))
      reqs.push({binary: `schema:${src.name}`, path: have ? src.dest : undefined, install: {kind: 'gomod-file', module: src.module, files: src.files, dest: src.dest},
        neededFor: `provision validate (${src.name} API schema)`})
    }
  }
  return reqs
}

/** Where pip puts console scripts when its dir is not on PATH (pyenv, --user installs). */
const pipScriptDirs = () => [join(process.env.HOME ?? homedir(), '.pyenv', 'shims'), join(process.env.HOME ?? homedir(), '.local', 'bin'), '/usr/local/bin']

export function binaryPath(binary: string): string | undefined {
  if (binary === 'minio') return which(binary, [minioCacheBin()])
  if (binary === 'postgres' || binary.startsWith('pg_')) return which(binary, [PG_BIN_DIR])
  const found = which(binary)
  if (found || (binary !== 'moto_server' && binary !== 's3-pit-restore')) return found
  return which(binary, pipScriptDirs())
}

/** Group missing requirements into the fewest install commands (argv form, and as typed by hand). */
export function installCommands(missing: Requirement[]): {title: string; argv: string[]; env?: Record<string, string>; manual: string}[] {
  const out: {title: string; argv: string[]; env?: Record<string, string>; manual: string}[] = []
  const aptPkgs = [...new Set(missing.flatMap((r) => (r.install.kind === 'apt' ? r.install.packages : [])))]
  if (aptPkgs.length) {
    const script = `apt-get update -qq && ( [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; }; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${aptPkgs.join(' ')} )`
    out.push({title: `install Debian packages ${aptPkgs.join(', ')}`, argv: ['sh', '-c', script],
      manual: `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${aptPkgs.join(' ')}`})
  }
  const pipPkgs = [...new Set(missing.flatMap((r) => (r.install.kind === 'pip' ? r.install.packages : [])))]
  if (pipPkgs.length) {
    out.push({title: `install ${pipPkgs.join(', ')} from PyPI`, argv: ['python3', '-m', 'pip', 'install', '-q', ...pipPkgs],
      manual: `python3 -m pip install ${pipPkgs.map(q).join(' ')}`})
  }
  const go = which('go', ['/usr/local/go/bin']) ?? 'go'
  // Where the Go module cache unpacked a module (downloading it first when needed).
  const moduleDir = (module: string) => `${q(go)} mod download -json ${q(module)} | sed -n 's/^[[:space:]]*"Dir": "\\(.*\\)",$/\\1/p'`
  for (const r of missing) {
    if (r.install.kind === 'go') {
      out.push({title: `build ${r.binary} from its Go module (cached in ${r.install.gobin}; minutes the first time)`, argv: [go, 'install', r.install.module],
        env: {GOBIN: r.install.gobin}, manual: `GOBIN=${q(r.install.gobin)} go install ${q(r.install.module)}`})
    }
    if (r.install.kind === 'gomod-build') {
      const i = r.install
      // pkg: one package (-> bin/<binary>) or several separated by spaces (-> bin/, each under its own name)
      const several = i.pkg.includes(' ')
      const script = `set -e; GO=${q(go)}; dir=$(${moduleDir(i.module)}); rm -rf ${q(i.src)}; mkdir -p ${q(i.bin)} ${q(dirname(i.src))}; cp -r "$dir" ${q(i.src)}; chmod -R u+w ${q(i.src)}; cd ${q(i.src)}${i.prep ? ` && ${i.prep}` : ''}`
        + ` && GOFLAGS=-mod=mod ${q(go)} build${i.ldflags ? ` -ldflags ${q(i.ldflags)}` : ''} -o ${several ? `${q(i.bin)}/` : q(`${i.bin}/${i.out ?? r.binary}`)} ${i.pkg}`
        + (i.clean ? ` && cd / && rm -rf ${q(i.src)}` : '')
      out.push({title: `build ${several ? i.pkg.split(' ').map((x) => x.split('/').at(-1)).join(', ') : r.binary} from the Go module ${i.module} (cached in ${i.bin}; ${i.about ?? 'about 8 minutes the first time'})`, argv: ['sh', '-c', script], manual: script})
    }
    if (r.install.kind === 'script') out.push({title: r.install.what, argv: ['sh', '-c', `set -e; ${r.install.script}`], manual: r.install.script})
    if (r.install.kind === 'gomod-file') {
      const i = r.install
      const script = `set -e; dir=$(${moduleDir(i.module)}); mkdir -p ${q(i.dest)}; `
        + i.files.map((f) => `cp "$dir"/${q(f)} ${q(i.dest)}/; chmod 644 ${q(`${i.dest}/${f.split('/').at(-1)}`)}`).join('; ')
      out.push({title: `copy ${i.files.map((f) => f.split('/').at(-1)).join(', ')} of the Go module ${i.module} into ${i.dest}`, argv: ['sh', '-c', script], manual: script})
    }
  }
  return out
}
