// The shape of vaultctl.yaml. Strict objects everywhere: a misspelt key is an error that names
// its path, never silently ignored. Defaults come from the architecture document (sections 2.1,
// 6.3 and 8.1-8.2).
import {SCENARIOS} from '../drill/scenarios.js'
import {z} from 'zod'
import {parseDuration, parseSize} from '../units.js'

/** A secret is never written in the file: only where to read it from. */
export const SecretRefSchema = z.union([
  z.strictObject({env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')}),
  z.strictObject({file: z.string().min(1)}),
], {error: 'expected {env: NAME} or {file: PATH}; secrets are never written in the config itself'})
export type SecretRef = z.infer<typeof SecretRefSchema>

const Duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  error: 'expected a duration such as 30s, 15m, 24h',
}).transform((s) => parseDuration(s)!)

const Size = z.union([z.number().nonnegative(), z.string().refine((s) => parseSize(s) !== undefined, {
  error: 'expected a size such as 16MiB or 1GB',
}).transform((s) => parseSize(s)!)])

const HostPort = z.string().regex(/^[A-Za-z0-9_.:[\]-]+:\d{1,5}$/, 'expected HOST:PORT')
const Url = z.url({protocol: /^https?$/, error: 'expected an http(s) URL'})
const DnsName = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a lowercase DNS label')

const WarnCrit = <T extends z.ZodType>(t: T) => z.strictObject({warn: t, crit: t})

export const KubernetesSchema = z.strictObject({
  context: z.string().optional(),
  kubeconfig: z.string().optional(),
  namespaces: z.strictObject({
    app: DnsName.default('llm-vault-prod'),
    data: DnsName.default('llm-vault-data'),
    jobs: DnsName.default('llm-vault-jobs'),
  }).prefault({}),
})

/** TLS to a server: its CA (verified by default), a client certificate. insecureSkipVerify only
 *  explicitly, and vaultctl warns about it on every run. */
const TlsFields = {
  caFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  insecureSkipVerify: z.boolean().optional(),
}

/** Patroni's REST API: basic authentication (restapi.authentication) and HTTPS. */
const PatroniRestSchema = z.strictObject({
  username: z.string().optional(),
  passwordFrom: SecretRefSchema.optional(),
  ...TlsFields,
}).refine((r) => !r.passwordFrom || r.username, {message: 'passwordFrom needs a username', path: ['username']})

/** libpq's sslmode and files (also given to pg_basebackup, pg_amcheck and the restore's tools). */
const PgTlsSchema = z.strictObject({
  sslmode: z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']).default('verify-full'),
  rootCertFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
}).refine((t) => !['verify-ca', 'verify-full'].includes(t.sslmode) || t.rootCertFile, {message: 'verify-ca and verify-full need rootCertFile (the CA that signed the server)', path: ['rootCertFile']})

/** How base backups are compressed (on the server, by pg_basebackup) and WAL segments (by `wal push`). */
const Compression = z.strictObject({
  method: z.enum(['zstd', 'lz4', 'none']).default('zstd'),
  /** zstd 1-22 (default 3), lz4 1-12 (default 1) */
  level: z.number().int().min(1).max(22).optional(),
  /** zstd only: compression threads on the server (0: one, in the backend itself) */
  workers: z.number().int().min(0).max(64).default(2),
}).refine((c) => c.method !== 'lz4' || c.level === undefined || c.level <= 12, {message: 'lz4 levels are 1-12', path: ['level']})
  .refine((c) => c.method !== 'none' || c.level === undefined, {message: 'method none takes no level', path: ['level']})

/** What `backup prune` keeps (architecture 8.1: full backups 30 days, WAL 7 days). */
const Retention = z.strictObject({
  /** full backups finished within this many days are kept */
  fullDays: z.number().int().min(1).max(3650).default(30),
  /** point-in-time restore reaches this many days back: the WAL from the newest backup before that instant on is kept */
  walDays: z.number().int().min(1).max(3650).default(7),
  /** never fewer complete backups than this, however old */
  minBackups: z.number().int().min(1).max(1000).default(1),
})

const BackupLocation = z.strictObject({
  bucket: z.string().min(3),
  prefix: z.string().default('postgres/'),
  compression: Compression.prefault({}),
  /** WAL segments: zstd-compressed objects (restore reads both) or as PostgreSQL wrote them */
  walCompression: z.enum(['zstd', 'none']).default('zstd'),
  retention: Retention.prefault({}),
})

const PatroniSchema = z.strictObject({
  kind: z.literal('patroni'),
  cluster: z.string().min(1),
  endpoints: z.array(Url).min(1, 'list at least one Patroni REST endpoint'),
  host: z.string().optional(),
  database: z.string().default('postgres'),
  user: z.string().default('postgres'),
  passwordFrom: SecretRefSchema.optional(),
  /** TLS to PostgreSQL itself (absent: no TLS). */
  tls: PgTlsSchema.optional(),
  /** Patroni's REST API: authentication and HTTPS. */
  rest: PatroniRestSchema.optional(),
  binDir: z.string().optional(),
  /** A patroni.yml for the `patronictl -c` commands printed in plans (the manual equivalents). */
  patronictlConfig: z.string().optional(),
  backup: BackupLocation.optional(),
  /** Patroni in a Kubernetes StatefulSet (architecture 4.2): `restore --into cluster` plans the StatefulSet steps. */
  kubernetes: z.strictObject({
    statefulSet: DnsName,
    /** Default: the environment's kubernetes.namespaces.data. */
    namespace: DnsName.optional(),
    container: z.string().default('postgres'),
    replicas: z.number().int().min(1).default(3),
    /** The PVC of pod N is <volumeClaimTemplate>-<statefulSet>-N. */
    volumeClaimTemplate: DnsName.default('data'),
    dataDir: z.string().default('/var/lib/postgresql/data/pgdata'),
    /** The image that runs vaultctl in the restore pod. */
    image: z.string().default('ghcr.io/llm-data-vault/vaultctl:latest'),
    /** Patroni's REST port in each pod (reached through the API server's pod proxy). */
    patroniPort: z.number().int().min(1).max(65_535).default(8008),
  }).optional(),
})

const RdsSchema = z.strictObject({
  kind: z.literal('rds'),
  engine: z.enum(['aurora-postgresql', 'postgres']).default('aurora-postgresql'),
  /** Aurora: the DB cluster identifier; plain RDS (engine postgres): the DB instance identifier. */
  clusterId: z.string().min(1),
  region: z.string().min(1),
  /** Only for an RDS-compatible API elsewhere than AWS (the moto server in tests). */
  apiEndpoint: Url.optional(),
  accessKeyIdFrom: SecretRefSchema.optional(),
  secretAccessKeyFrom: SecretRefSchema.optional(),
  database: z.string().default('postgres'),
  user: z.string().default('postgres'),
  passwordFrom: SecretRefSchema.optional(),
})

export const PostgresSchema = z.discriminatedUnion('kind', [PatroniSchema, RdsSchema], {
  error: 'postgres.kind must be "patroni" or "rds"',
})

export const RedisSchema = z.strictObject({
  nodes: z.array(HostPort).min(1, 'list at least one Redis Cluster seed node'),
  /** ACL user (Redis 6+); without it, AUTH with the password alone (the default user). */
  username: z.string().optional(),
  passwordFrom: SecretRefSchema.optional(),
  /** TLS to every node (its tls-port); absent: plain TCP. */
  tls: z.strictObject(TlsFields).optional(),
})

export const S3Schema = z.strictObject({
  endpoint: Url.optional(),
  region: z.string().default('us-west-2'),
  forcePathStyle: z.boolean().default(false),
  accessKeyIdFrom: SecretRefSchema.optional(),
  secretAccessKeyFrom: SecretRefSchema.optional(),
  /** The CA of an endpoint whose certificate is not from a public CA (MinIO on-prem). */
  caFile: z.string().optional(),
  insecureSkipVerify: z.boolean().optional(),
  buckets: z.strictObject({
    data: z.string().min(3),
    backups: z.string().min(3),
    audit: z.string().min(3),
  }),
})

export const SloSchema = z.strictObject({
  // Architecture 6.3: PostgreSQL replication lag warning 30s, critical 60s.
  replicationLag: WarnCrit(Duration).default({warn: 30, crit: 60}),
  // Patroni reports lag in bytes; rate it too.
  replicationLagBytes: WarnCrit(Size).default({warn: 16 * 1024 ** 2, crit: 64 * 1024 ** 2}),
  // Architecture 8.2: RPO/RTO per system.
  rpo: z.strictObject({
    postgres: Duration.default(60), redis: Duration.default(1), s3: Duration.default(0), kubernetes: Duration.default(86_400),
  }).prefault({}),
  rto: z.strictObject({
    postgres: Duration.default(900), redis: Duration.default(300), s3: Duration.default(300), kubernetes: Duration.default(7200),
  }).prefault({}),
}).prefault({})

/** A node pool's instance and its monthly price (on-demand; spotMonthly when part of it runs on Spot). Defaults: the architecture's 3.2 and 10.2. */
const PoolPrice = z.strictObject({instanceType: z.string(), vcpu: z.number().positive(), memoryGiB: z.number().positive(), monthly: z.number().nonnegative(), spotMonthly: z.number().nonnegative().optional()})
export const PricingSchema = z.strictObject({
  currency: z.string().default('USD'),
  pools: z.record(z.string(), PoolPrice).default({
    api: {instanceType: 'c6i.2xlarge', vcpu: 8, memoryGiB: 16, monthly: 800},
    worker: {instanceType: 'c6i.4xlarge', vcpu: 16, memoryGiB: 32, monthly: 1600, spotMonthly: 480},
    data: {instanceType: 'r6i.2xlarge', vcpu: 8, memoryGiB: 64, monthly: 1200},
  }),
}).prefault({})

/** The right-sizing methodology's thresholds (architecture 10.1); the defaults are its numbers. */
export const RightsizingSchema = z.strictObject({
  /** over-provisioned: P95 below this share of the request */
  overP95OfRequest: z.number().positive().max(1).default(0.5),
  /** under-provisioned: P95 above this share of the limit */
  underP95OfLimit: z.number().positive().max(1).default(0.9),
  /** well-sized: P95 within this share of the request */
  wellSized: z.strictObject({low: z.number().positive(), high: z.number().positive()}).default({low: 0.6, high: 0.8}),
  /** limits = request x this, for burstable workloads (the architecture: 1.5-2x) */
  limitFactor: z.number().min(1).max(4).default(2),
  /** under-provisioned when more than this share of CPU periods were throttled */
  throttledShare: z.number().min(0).max(1).default(0.05),
  /** bursty (flagged, not shrunk) when P99 / P50 is above this */
  burstyRatio: z.number().min(1).default(3),
  /** too little data when the samples cover less than this share of the window */
  minCoverage: z.number().positive().max(1).default(0.9),
}).prefault({})

// `provision`: overrides of the profile's defaults (templates/eksctl/profiles.yaml). Every key is
// optional here; lib/provision checks the merged result as a whole.
const PoolOverrides = {
  minSize: z.number().int().min(0).optional(),
  maxSize: z.number().int().min(1).optional(),
  desiredCapacity: z.number().int().min(0).optional(),
  volumeSize: z.number().int().min(8).optional(),
}
export const ProvisionSchema = z.strictObject({
  profile: z.enum(['production', 'staging', 'development', 'lab']).optional(),
  cluster: z.strictObject({
    name: DnsName.optional(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as us-west-2').optional(),
    version: z.string().regex(/^1\.\d{2}$/, 'expected a Kubernetes minor version such as "1.33" (quoted)').optional(),
    availabilityZones: z.array(z.string()).min(2, 'EKS needs at least two availability zones').optional(),
    vpcCidr: z.string().optional(),
    publicEndpoint: z.boolean().optional(),
  }).optional(),
  nodePools: z.strictObject({
    api: z.strictObject({...PoolOverrides, instanceType: z.string().optional()}).optional(),
    worker: z.strictObject({...PoolOverrides, instanceTypes: z.array(z.string()).min(1).optional(),
      onDemandBase: z.number().int().min(0).optional(), spotPercentAboveBase: z.number().int().min(0).max(100).optional()}).optional(),
    data: z.strictObject({...PoolOverrides, instanceType: z.string().optional(), volumeIOPS: z.number().int().min(100).optional()}).optional(),
  }).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  helm: z.strictObject({
    release: DnsName.default('llm-vault'),
    namespace: DnsName.optional(),
    timeout: z.string().regex(/^\d+[smh]$/, 'expected a duration such as 10m').default('10m'),
    /** Deep-merged over the profile's values file (templates/values/<profile>.yaml). */
    values: z.record(z.string(), z.unknown()).optional(),
  }).prefault({}),
  /** eksctl's JSON schema when eksctl is not installed (it prints it: `eksctl utils schema`). */
  eksctlSchema: z.string().optional(),
})

/** Per-scenario RPO/RTO targets of `vaultctl drill` (defaults: the architecture's, see `vaultctl drill list`). */
export const DrillsSchema = z.strictObject({
  targets: z.partialRecord(z.enum(SCENARIOS), z.strictObject({rpo: Duration.optional(), rto: Duration.optional()})).optional(),
})

export const EnvironmentSchema = z.strictObject({
  description: z.string().optional(),
  protected: z.boolean().default(false),
  kubernetes: KubernetesSchema.optional(),
  postgres: PostgresSchema.optional(),
  redis: RedisSchema.optional(),
  s3: S3Schema.optional(),
  velero: z.strictObject({namespace: z.string().default('velero')}).optional(),
  prometheus: z.strictObject({url: Url, bearerTokenFrom: SecretRefSchema.optional(), username: z.string().optional(), passwordFrom: SecretRefSchema.optional()}).optional(),
  slo: SloSchema,
  pricing: PricingSchema,
  rightsizing: RightsizingSchema,
  provision: ProvisionSchema.optional(),
  drills: DrillsSchema.optional(),
})
export type Environment = z.infer<typeof EnvironmentSchema>
export type EnvironmentInput = z.input<typeof EnvironmentSchema>

export const ConfigSchema = z.strictObject({
  apiVersion: z.literal('vaultctl/v1', {error: 'expected apiVersion: vaultctl/v1'}),
  defaultEnvironment: z.string().optional(),
  audit: z.strictObject({
    path: z.string().optional(),
    /** Each record also as one object in S3 (the architecture's vault-audit bucket, versioned). */
    s3: z.strictObject({
      /** whose S3 connection to use (default: the environment the command runs against) */
      environment: DnsName.optional(),
      /** default: that environment's s3.buckets.audit */
      bucket: z.string().min(3).optional(),
      prefix: z.string().default('vaultctl/'),
      /** Object Lock retention to ask for on each record (otherwise the bucket's default applies) */
      retention: z.strictObject({mode: z.enum(['GOVERNANCE', 'COMPLIANCE']), days: z.number().int().positive()}).optional(),
    }).optional(),
  }).optional(),
  environments: z.record(DnsName, EnvironmentSchema),
})
export type Config = z.infer<typeof ConfigSchema>
