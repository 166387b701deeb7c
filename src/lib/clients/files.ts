// Reads of the local file system that planners are fed (observation only: what changes files is
// an operation, run by the executor).
import {existsSync, readdirSync, readFileSync} from 'node:fs'

export const pathExists = (path: string): boolean => existsSync(path)

/** A JSON file's content, or undefined when there is none. */
export function readJsonFile<T>(file: string): T | undefined {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as T : undefined
}

/** A directory's entries whose names match, or [] when it does not exist. */
export const listDir = (dir: string, match: RegExp = /./): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => match.test(f)) : [])

/** A text file's content, or undefined when there is none. */
export const readText = (file: string): string | undefined => (existsSync(file) ? readFileSync(file, 'utf8') : undefined)
