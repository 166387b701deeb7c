// The one error family. Every error a user can hit carries a stable code, an exit code with a
// documented meaning, and what to do next. Anything else reaching the top is a bug (exit 1).

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  refused: 3,
  timeout: 4,
  /** `provision plan --detailed-exitcode`: the plan has changes (not 2: that is a usage error) */
  changes: 5,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export type ErrorKind = 'user' | 'system'

export class VaultctlError extends Error {
  readonly code: string
  readonly exit: ExitCodeValue
  readonly suggestions: string[]
  readonly kind: ErrorKind
  readonly details?: unknown

  constructor(
    message: string,
    opts: {code: string; exit: ExitCodeValue; suggestions?: string[]; kind?: ErrorKind; cause?: unknown; details?: unknown},
  ) {
    super(message, {cause: opts.cause})
    this.name = 'VaultctlError'
    this.code = opts.code
    this.exit = opts.exit
    this.suggestions = opts.suggestions ?? []
    this.kind = opts.kind ?? 'user'
    this.details = opts.details
  }

  toJSON(): {code: string; message: string; exit: number; suggestions: string[]; details?: unknown} {
    return {code: this.code, message: this.message, exit: this.exit, suggestions: this.suggestions, ...(this.details === undefined ? {} : {details: this.details})}
  }
}

/** Bad flags, bad config file, unknown environment: exit 2. */
export const usageError = (code: string, message: string, suggestions: string[] = [], details?: unknown) =>
  new VaultctlError(message, {code, exit: ExitCode.usage, suggestions, details})

/** A safety check or precondition said no: exit 3. */
export const refusal = (code: string, message: string, suggestions: string[] = [], details?: unknown) =>
  new VaultctlError(message, {code, exit: ExitCode.refused, suggestions, details})

/** The operation was tried and failed: exit 1. */
export const failure = (code: string, message: string, suggestions: string[] = [], cause?: unknown, details?: unknown) =>
  new VaultctlError(message, {code, exit: ExitCode.failed, suggestions, cause, kind: 'system', details})

/** We stopped waiting; the operation may still be running: exit 4. */
export const timedOut = (code: string, message: string, suggestions: string[] = [], details?: unknown) =>
  new VaultctlError(message, {code, exit: ExitCode.timeout, suggestions, kind: 'system', details})

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/** Node's codes for a certificate that could not be verified. */
export const TLS_VERIFY_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/

export const tlsVerifyFailed = (err: Error & {code: string}, where?: string) =>
  failure('TLS_VERIFY_FAILED', `${where ? `${where}: ` : ''}the server's certificate is not trusted (${err.code}: ${err.message})`,
    ['Name the CA that signed it (caFile / rootCertFile in the config). Only if you must: insecureSkipVerify: true (vaultctl warns on every run).'], err)

const S3_AUTH = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken'])

/** An error a service or the network raised, said as what it is (not "unexpected"): undefined when unknown. */
export function fromSystemError(err: Error & {code?: string; $metadata?: {httpStatusCode?: number}; address?: string; port?: number}): VaultctlError | undefined {
  if (err.$metadata) {
    const status = err.$metadata.httpStatusCode
    const auth = S3_AUTH.has(err.name) || status === 403
    return failure(auth ? 'AWS_ACCESS_DENIED' : 'AWS_ERROR', `${err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`,
      auth ? ['Check the credentials the environment names (s3.accessKeyIdFrom / secretAccessKeyFrom, or the AWS profile) and what they are allowed to do.']
        : ['Re-run with --debug for the request that failed.'], err)
  }
  if (err.code && TLS_VERIFY_CODE.test(err.code)) return tlsVerifyFailed(err as Error & {code: string})
  if (err.code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(err.code)) {
    return failure('UNREACHABLE', `${err.message}`, ['Is the service up, and does the config point at the right host and port? `vaultctl status` shows every component.'], err)
  }
  return undefined
}
