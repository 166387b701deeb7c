// The environment a child process gets: a short allowlist of vaultctl's own (where programs are,
// locale, home, proxies and CA bundles) plus what the caller passes on purpose, never the whole
// environment. A long-lived child (the restored postmaster, a lab daemon) must not carry AWS keys
// or passwords it does not need in /proc/<pid>/environ.

const BASE = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']

/** Names a tool reads for its own configuration (not secrets of ours it has no use for). */
export const TOOL_ENV = {
  /** eksctl calls AWS itself: it needs the operator's AWS identity. */
  eksctl: ['AWS_*', 'KUBECONFIG'],
  helm: ['KUBECONFIG', 'HELM_*'],
  /** Installing the lab's programs: go, pip, apt, npm read their own settings. */
  build: ['GO*', 'CGO_*', 'CC', 'PIP_*', 'PYTHON*', 'PYENV*', 'XDG_*', 'DEBIAN_FRONTEND', 'APT_*', 'npm_config_*', 'NPM_CONFIG_*'],
  none: [],
} as const

function passes(name: string, patterns: readonly string[]): boolean {
  return name.startsWith('LC_') || BASE.includes(name) || patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p))
}

export function childEnv(extra: Record<string, string | undefined> = {}, pass: readonly string[] = [], from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(from)) if (v !== undefined && passes(k, pass)) out[k] = v
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v
  return out
}

/** execa options for a child with that environment (execa would otherwise extend process.env). */
export const childEnvOptions = (extra: Record<string, string | undefined> = {}, pass: readonly string[] = []) =>
  ({env: childEnv(extra, pass), extendEnv: false}) as const
