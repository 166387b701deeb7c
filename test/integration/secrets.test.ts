// Secrets stay secret: lab daemons do not inherit vaultctl's environment; every command run with
// canary secret values keeps them out of stdout, stderr, --debug output, the audit log and the
// command lines of its children. And the audit trail: chained, also in S3 under Object Lock,
// where a record deleted from the end of the file is found.
import {readdirSync, readFileSync, writeFileSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {s3Client} from '../../src/lib/clients/s3.js'
import {ENV_CANARY} from './global-setup.js'
import {vaultctl} from '../helpers/cli.js'
import {labSecret, pidOf, postmasterPid} from '../helpers/lab.js'

const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')

describe('lab daemons get a minimal environment', () => {
  it('etcd, Patroni, its PostgreSQL, MinIO and Prometheus do not hold the environment of `lab up`; MinIO has its own keys', () => {
    const pids = {etcd: pidOf('etcd'), patroni: pidOf('patroni-1'), postgres: postmasterPid('pg-1'), s3: pidOf('s3'), prometheus: pidOf('prometheus')}
    for (const [name, pid] of Object.entries(pids)) {
      const env = environOf(pid)
      expect(env.join('\n'), name).not.toContain(ENV_CANARY)
      expect(env.some((e) => e.startsWith('PATH=')), name).toBe(true)
    }
    expect(environOf(pids.s3)).toContain(`MINIO_ROOT_USER=${labSecret('s3-access-key')}`)
  })
})

// --- canaries ---

const CANARY = {
  CANARY_PG: 'cnry-pg-5b7e1d',
  CANARY_S3_AK: 'cnry-ak-44c9',
  CANARY_S3_SK: 'cnry-sk-8a0f33e2',
  CANARY_REDIS: 'cnry-rd-71',
  CANARY_PROM: 'cnry-pm-0d9c',
  // a one-letter secret is a secret too
  CANARY_SHORT: 'Q',
}

let cfgFile: string
let auditFile: string
const seenInArgv: string[] = []
let poller: NodeJS.Timeout | undefined

/** Every child command line of this machine, sampled while the commands run. */
function sampleCommandLines(): void {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8')
      for (const v of Object.values(CANARY).filter((x) => x.length > 1)) if (cmd.includes(v)) seenInArgv.push(cmd.replaceAll('\0', ' '))
    } catch {
      // gone
    }
  }
}

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'vaultctl-canary-'))
  const doc = parse(readFileSync(join(inject('labDir'), 'vaultctl.yaml'), 'utf8')) as {environments: Record<string, Record<string, Record<string, unknown>>>}
  const lab = doc.environments.lab!
  doc.environments.canary = {
    ...lab,
    postgres: {...lab.postgres, passwordFrom: {env: 'CANARY_PG'}},
    s3: {...lab.s3, accessKeyIdFrom: {env: 'CANARY_S3_AK'}, secretAccessKeyFrom: {env: 'CANARY_S3_SK'}},
    redis: {...lab.redis, passwordFrom: {env: 'CANARY_REDIS'}},
    prometheus: {...lab.prometheus, username: 'ops', passwordFrom: {env: 'CANARY_SHORT'}},
  } as never
  auditFile = join(dir, 'audit.jsonl')
  cfgFile = join(dir, 'vaultctl.yaml')
  writeFileSync(cfgFile, stringify({...doc, defaultEnvironment: 'canary', audit: {path: auditFile}}))
  poller = setInterval(sampleCommandLines, 25)
})

afterAll(() => clearInterval(poller))

const withCanaries = (args: string[]) => vaultctl(args, {env: {VAULTCTL_CONFIG: cfgFile, VAULTCTL_ENV: undefined, VAULTCTL_AUDIT_FILE: undefined, ...CANARY}})

describe('canary secrets', () => {
  const commands: string[][] = [
    ['status'],
    ['config', 'show'],
    ['config', 'validate'],
    ['env', 'list'],
    ['backup', 'list'],
    ['backup', 'create', '--yes'],
    ['backup', 'validate', '--dry-run'],
    ['restore', 'pitr', '--latest', '--dry-run'],
    ['restore', 'pitr', '--latest', '--yes'],
    ['failover', 'postgres', '--dry-run'],
    ['failover', 'redis', '--dry-run'],
    ['s3', 'history', '--prefix', 'datasets/'],
    ['restore', 's3', '--prefix', 'datasets/', '--to', '2026-01-01T00:00:00Z', '--dry-run'],
    ['report', 'rightsizing', '--namespace', 'llm-vault-prod'],
    ['wal', 'push', '/nonexistent/000000010000000000000001'],
    ['audit', 'list'],
  ]
  it.each(commands)('%s %s %s: no canary in stdout, stderr (plain, --json, --debug) or the audit log', async (...args) => {
    for (const mode of [[], ['--json'], ['--debug']]) {
      const r = await withCanaries([...args, ...mode])
      for (const [name, v] of Object.entries(CANARY)) {
        if (v.length === 1) continue // a letter appears in any text: checked below by redaction
        expect(r.stdout, `${name} in stdout of ${args.join(' ')} ${mode.join(' ')}`).not.toContain(v)
        expect(r.stderr, `${name} in stderr of ${args.join(' ')} ${mode.join(' ')}`).not.toContain(v)
      }
    }
  })

  it('the audit log holds no canary, and no child ever had one on its command line', () => {
    const text = readFileSync(auditFile, 'utf8')
    expect(text.length).toBeGreaterThan(0)
    for (const v of Object.values(CANARY).filter((x) => x.length > 1)) expect(text).not.toContain(v)
    sampleCommandLines()
    expect(seenInArgv).toEqual([])
  })

  it('a one-letter secret is starred too (config show names it by reference only; a message holding it is redacted)', async () => {
    // The Prometheus password is "Q": the rightsizing error names the server's answer, never the password.
    const r = await withCanaries(['report', 'rightsizing', '--namespace', 'llm-vault-prod', '--json'])
    expect(r.stdout).not.toMatch(/"Q"|:Q@|password=Q\b/)
    const shown = await withCanaries(['config', 'show', '--json'])
    expect(shown.stdout).toContain('CANARY_SHORT')
  })
})

// --- audit in S3 ---

describe('audit trail in S3 under Object Lock', () => {
  const bucket = `vault-audit-lock-${Date.now().toString(36)}`
  let cfg: string
  let file: string
  const conn = () => ({endpoint: `http://127.0.0.1:14900`, region: 'us-east-1', forcePathStyle: true, accessKeyId: labSecret('s3-access-key'), secretAccessKey: labSecret('s3-secret-key')})

  beforeAll(async () => {
    const {CreateBucketCommand, PutBucketVersioningCommand, PutObjectLockConfigurationCommand} = await import('@aws-sdk/client-s3')
    const c = await s3Client(conn())
    await c.send(new CreateBucketCommand({Bucket: bucket, ObjectLockEnabledForBucket: true}))
    await c.send(new PutBucketVersioningCommand({Bucket: bucket, VersioningConfiguration: {Status: 'Enabled'}}))
    await c.send(new PutObjectLockConfigurationCommand({Bucket: bucket, ChecksumAlgorithm: 'CRC32', ObjectLockConfiguration: {ObjectLockEnabled: 'Enabled', Rule: {DefaultRetention: {Mode: 'GOVERNANCE', Days: 1}}}}))
    c.destroy()
    const dir = mkdtempSync(join(tmpdir(), 'vaultctl-audit-s3-'))
    file = join(dir, 'audit.jsonl')
    const doc = parse(readFileSync(join(inject('labDir'), 'vaultctl.yaml'), 'utf8')) as Record<string, unknown>
    cfg = join(dir, 'vaultctl.yaml')
    writeFileSync(cfg, stringify({...doc, audit: {path: file, s3: {bucket, prefix: 'vaultctl/'}}}))
  })

  const cli = (args: string[]) => vaultctl(args, {env: {VAULTCTL_CONFIG: cfg, VAULTCTL_ENV: undefined, VAULTCTL_AUDIT_FILE: undefined}})

  it('each executed plan is one locked object; verify --s3 agrees; a record deleted from the end of the file is found there', async () => {
    // Two executed plans (the lab is running: its re-check of buckets and environment).
    for (let i = 0; i < 2; i++) expect((await cli(['lab', 'up', '--dir', inject('labDir')])).code).toBe(0)
    const ok = await cli(['audit', 'verify', '--s3', '--json'])
    expect(ok.code, ok.stdout).toBe(0)
    const res = ok.json<{ok: boolean; chained: number; s3: {objects: number; missingInS3: number[]; notInFile: string[]}}>()
    expect(res).toMatchObject({ok: true, chained: 2, s3: {objects: 2, missingInS3: [], notInFile: []}})

    const {ListObjectVersionsCommand, GetObjectRetentionCommand, DeleteObjectCommand} = await import('@aws-sdk/client-s3')
    const c = await s3Client(conn())
    const versions = (await c.send(new ListObjectVersionsCommand({Bucket: bucket}))).Versions ?? []
    expect(versions).toHaveLength(2)
    const v = versions[0]!
    const retention = await c.send(new GetObjectRetentionCommand({Bucket: bucket, Key: v.Key, VersionId: v.VersionId}))
    expect(retention.Retention?.Mode).toBe('GOVERNANCE')
    // The record cannot be deleted (without the explicit governance bypass).
    await expect(c.send(new DeleteObjectCommand({Bucket: bucket, Key: v.Key, VersionId: v.VersionId}))).rejects.toThrow(/lock|retention|WORM|denied/i)
    c.destroy()

    // Remove the last record from the file: the chain alone cannot tell, S3 can.
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    writeFileSync(file, lines.slice(0, -1).join('\n') + '\n')
    expect((await cli(['audit', 'verify'])).code).toBe(0)
    const bad = await cli(['audit', 'verify', '--s3', '--json'])
    expect(bad.code).toBe(1)
    expect(bad.json<{ok: boolean; s3: {notInFile: string[]}}>()).toMatchObject({ok: false, s3: {notInFile: [expect.stringMatching(/0000000002-[0-9a-f]{16}\.json$/)]}})
  })
})

// --- connections ---

describe('authenticated and encrypted connections in the lab', () => {
  const lab = () => parse(readFileSync(join(inject('labDir'), 'vaultctl.yaml'), 'utf8')) as {environments: {lab: {postgres: Record<string, unknown>}}}
  const withLabVariant = (edit: (pg: Record<string, unknown>) => void) => {
    const doc = lab()
    edit(doc.environments.lab.postgres)
    const file = join(mkdtempSync(join(tmpdir(), 'vaultctl-tls-')), 'vaultctl.yaml')
    writeFileSync(file, stringify(doc))
    return (args: string[]) => vaultctl(args, {env: {VAULTCTL_CONFIG: file, VAULTCTL_ENV: undefined}})
  }
  const port = (name: string) => (JSON.parse(readFileSync(join(inject('labDir'), 'lab.json'), 'utf8')) as {ports: Record<string, number>}).ports[name]!

  it('Patroni\'s REST API is HTTPS and refuses an unsafe request without the password', async () => {
    const {httpJson} = await import('../../src/lib/clients/http.js')
    const api = `https://127.0.0.1:${port('patroni-1')}`
    const ca = join(inject('labDir'), 'tls', 'ca.crt')
    const anonymous = await httpJson(`${api}/config`, {method: 'PATCH', body: {loop_wait: 2}, access: {caFile: ca}})
    expect(anonymous.status).toBe(401)
    const wrong = await httpJson(`${api}/config`, {method: 'PATCH', body: {loop_wait: 2}, access: {caFile: ca, username: 'vaultctl', password: 'not-it'}})
    expect(wrong.status).toBe(401)
    const right = await httpJson(`${api}/config`, {method: 'PATCH', body: {loop_wait: 2}, access: {caFile: ca, username: 'vaultctl', password: labSecret('patroni-rest')}})
    expect(right.status).toBe(200)
    // Plain HTTP is not served.
    await expect(httpJson(`http://127.0.0.1:${port('patroni-1')}/cluster`, {timeoutMs: 2000})).rejects.toThrow()
  })

  it('without the lab CA the certificate is not trusted (a clear error); insecureSkipVerify works but warns on every run, --json too', async () => {
    const noCa = withLabVariant((pg) => {
      delete (pg.rest as Record<string, unknown>).caFile
    })
    const r = await noCa(['failover', 'postgres', '--dry-run', '--json'])
    expect(r.code).not.toBe(0)
    expect(r.stdout).toMatch(/not trusted|certificate/i)
    const insecure = withLabVariant((pg) => {
      const rest = pg.rest as Record<string, unknown>
      delete rest.caFile
      rest.insecureSkipVerify = true
    })
    for (const args of [['status', '--component', 'postgres'], ['status', '--component', 'postgres', '--json']]) {
      const s = await insecure(args)
      expect(s.stderr).toMatch(/Warning: postgres\.rest\.insecureSkipVerify is set in environment lab: the server's certificate is NOT verified/)
      expect(s.stdout).not.toMatch(/not trusted/)
    }
  })

  it('PostgreSQL takes TCP connections only with TLS, verified against the lab CA', async () => {
    const pg = await import('pg')
    const conn = {host: '127.0.0.1', port: port('postgres-1'), user: 'postgres', password: labSecret('postgres-superuser'), database: 'postgres', connectionTimeoutMillis: 3000}
    const plain = new pg.default.Client({...conn, ssl: false})
    await expect(plain.connect()).rejects.toThrow(/no encryption|pg_hba/)
    await plain.end().catch(() => undefined)
    const unverified = new pg.default.Client({...conn, ssl: {rejectUnauthorized: true}})
    await expect(unverified.connect()).rejects.toThrow(/self.signed|certificate/i)
    await unverified.end().catch(() => undefined)
    const good = new pg.default.Client({...conn, ssl: {ca: readFileSync(join(inject('labDir'), 'tls', 'ca.crt'), 'utf8')}})
    await good.connect()
    const r = await good.query<{ssl: boolean}>('select ssl from pg_stat_ssl where pid = pg_backend_pid()')
    expect(r.rows[0]!.ssl).toBe(true)
    await good.end()
    // vaultctl itself: status reads replication over TLS (verify-full) with the lab's config.
    const s = await vaultctl(['status', '--component', 'postgres', '--json'], {env: {VAULTCTL_CONFIG: join(inject('labDir'), 'vaultctl.yaml'), VAULTCTL_ENV: undefined}})
    expect(s.stdout).not.toMatch(/password authentication failed|no encryption|certificate/)
  })

  it('Redis serves TLS only (the cluster bus and replication too): a plain client is refused, a client with the lab CA works', async () => {
    const {Redis} = await import('ioredis')
    const opts = {host: '127.0.0.1', port: port('redis-1'), lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false}
    const plain = new Redis(opts)
    plain.on('error', () => undefined)
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow()
    plain.disconnect()
    const tls = new Redis({...opts, tls: {ca: readFileSync(join(inject('labDir'), 'tls', 'ca.crt'), 'utf8')}})
    tls.on('error', () => undefined)
    await tls.connect()
    expect(await tls.ping()).toBe('PONG')
    // every node announces itself and its bus over TLS ports: the cluster is formed and ok
    expect(String(await tls.call('CLUSTER', 'INFO'))).toMatch(/cluster_state:ok/)
    tls.disconnect()
  })

  it('S3 over HTTPS with a private CA: s3.caFile trusts it; without it the error says the certificate is not trusted', async () => {
    const {spawn, execFileSync} = await import('node:child_process')
    const lab = inject('labDir')
    const work = mkdtempSync(join(tmpdir(), 'vaultctl-s3tls-'))
    const certs = join(work, 'certs')
    const {mkdirSync} = await import('node:fs')
    mkdirSync(certs)
    // A server certificate for 127.0.0.1 signed by the lab CA, where MinIO looks for it.
    execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(certs, 'private.key'), '-out', join(work, 'req.csr'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {stdio: 'ignore'})
    execFileSync('openssl', ['x509', '-req', '-in', join(work, 'req.csr'), '-CA', join(lab, 'tls', 'ca.crt'), '-CAkey', join(lab, 'tls', 'ca.key'), '-CAcreateserial', '-out', join(certs, 'public.crt'), '-days', '1', '-copy_extensions', 'copy'], {stdio: 'ignore'})
    const minio = readFileSync(`/proc/${pidOf('s3')}/cmdline`, 'utf8').split('\0')[0]!
    const p = 19_900
    const server = spawn(minio, ['server', join(work, 'data'), '--address', `127.0.0.1:${p}`, '--console-address', `127.0.0.1:${p + 1}`, '--certs-dir', certs, '--quiet'],
      {env: {PATH: process.env.PATH, MINIO_ROOT_USER: labSecret('s3-access-key'), MINIO_ROOT_PASSWORD: labSecret('s3-secret-key'), MINIO_BROWSER: 'off'}, stdio: 'ignore'})
    try {
      const doc = parse(readFileSync(join(lab, 'vaultctl.yaml'), 'utf8')) as {environments: {lab: {s3: Record<string, unknown>}}}
      doc.environments.lab.s3.endpoint = `https://127.0.0.1:${p}`
      const withCa = join(work, 'with-ca.yaml')
      writeFileSync(withCa, stringify({...doc, environments: {lab: {...doc.environments.lab, s3: {...doc.environments.lab.s3, caFile: join(lab, 'tls', 'ca.crt')}}}}))
      const without = join(work, 'without.yaml')
      writeFileSync(without, stringify(doc))
      const run = (file: string) => vaultctl(['status', '--component', 's3', '--json'], {env: {VAULTCTL_CONFIG: file, VAULTCTL_ENV: undefined}})
      let ok = await run(withCa)
      for (let i = 0; i < 40 && /unreachable|ECONNREFUSED/.test(ok.stdout); i++) {
        await new Promise((r) => setTimeout(r, 250))
        ok = await run(withCa)
      }
      // reached over TLS: the buckets do not exist on this empty server (crit), but no TLS error
      expect(ok.stdout).toMatch(/NoSuchBucket|does not exist|missing/i)
      expect(ok.stdout).not.toMatch(/certificate|SELF_SIGNED|UNABLE_TO_VERIFY/i)
      const bad = await run(without)
      expect(bad.stdout).toMatch(/certificate|SELF_SIGNED|UNABLE_TO_VERIFY/i)
    } finally {
      server.kill('SIGKILL')
    }
  })
})
