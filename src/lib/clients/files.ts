// The local file system as domain code sees it: reads that planners are fed, and the few writes
// that are part of an I/O command's own work (a fetched WAL file, a cache index, a temporary
// directory for a tool). What changes the system is an operation, run by the executor.
import {accessSync, chmodSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import type {ZodType} from 'zod'
import {failure} from '../errors.js'
import {join} from 'node:path'

export const pathExists = (path: string): boolean => existsSync(path)

/** A JSON file's content checked by its schema, or undefined when there is none. A file that is
 *  not what the schema says (edited by hand, from another version, cut short) is an error that
 *  names the file and the field, never a value cast into shape. */
export function readJsonFile<T>(file: string, schema: ZodType<T>): T | undefined {
  if (!existsSync(file)) return undefined
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw failure('STATE_FILE_INVALID', `${file} is not JSON: ${(error as Error).message}`, [`Move it aside (mv ${file} ${file}.bad) and re-run; vaultctl writes it again.`])
  }
  return parseWith(schema, raw, file)
}

/** Check a value read from a file or an object against its schema (exit 1 naming the field). */
export function parseWith<T>(schema: ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw)
  if (r.success) return r.data
  const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')
  throw failure('STATE_FILE_INVALID', `${what} is not what vaultctl wrote: ${issues}`, [`Move it aside and re-run, or restore it from where it came from; vaultctl never reads it by guessing.`])
}

/** A directory's entries whose names match, or [] when it does not exist. */
export const listDir = (dir: string, match: RegExp = /./): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => match.test(f)) : [])

/** A text file's content, or undefined when there is none. */
export const readText = (file: string): string | undefined => (existsSync(file) ? readFileSync(file, 'utf8') : undefined)

/** A file's bytes. */
export const readBytes = (file: string): Promise<Buffer> => import('node:fs/promises').then((f) => f.readFile(file))

/** Write beside the destination and rename into place: a reader never sees a partial file. */
export async function writeAtomic(dest: string, body: Uint8Array): Promise<void> {
  const {rename, rm, writeFile} = await import('node:fs/promises')
  const tmp = `${dest}.vaultctl-partial`
  try {
    await writeFile(tmp, body)
    await rename(tmp, dest)
  } catch (error) {
    await rm(tmp, {force: true})
    throw error
  }
}

const pems = new Map<string, string>()

/** A PEM file the config names (CA, client certificate or key), read once per run; a missing one
 *  is an error naming the file, not an unexpected ENOENT. */
export function readPem(file: string): string {
  if (!pems.has(file)) {
    try {
      pems.set(file, readFileSync(file, 'utf8'))
    } catch (error) {
      throw failure('TLS_FILE_UNREADABLE', `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`, ['Check the caFile/rootCertFile/certFile/keyFile paths in the config.'])
    }
  }
  return pems.get(file)!
}

/** Write a file only its owner can read, also when it existed with a wider mode (the mode of
 *  writeFileSync applies only to a file it creates). */
export function writePrivate(file: string, content: string): void {
  // Narrowed before the secret goes in: never readable by others, not even for a moment.
  if (existsSync(file)) chmodSync(file, 0o600)
  writeFileSync(file, content, {mode: 0o600})
}

/** Write a text file (a cache, a generated index). */
export const writeText = (file: string, content: string, mode?: number): void => writeFileSync(file, content, mode === undefined ? undefined : {mode})

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return existsSync(path)
  } catch {
    return false
  }
}

/** Run `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  try {
    return await fn(dir)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** The files under a directory (relative paths, recursively), with a stamp of their sizes and times. */
export function listTree(dir: string, match: RegExp): {files: string[]; stamp: string} {
  if (!existsSync(dir)) return {files: [], stamp: ''}
  const files = readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((f) => match.test(f)).sort()
  return {files, stamp: files.map((f) => `${f}:${statSync(join(dir, f)).size}:${statSync(join(dir, f)).mtimeMs}`).join('|')}
}

export const removePath = (path: string): void => rmSync(path, {recursive: true, force: true})

/** A text file that must exist (a template, a chart file): its absence is an error. */
export const readRequired = (file: string): string => readFileSync(file, 'utf8')
