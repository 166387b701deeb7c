// Every --json result the tests see is checked against the command's checked-in JSON Schema
// (schemas/, generated from the result types): a result that stops matching its contract fails
// the test that produced it.
import {existsSync, readFileSync} from 'node:fs'
import {Ajv} from 'ajv'

const dir = new URL('../../schemas/', import.meta.url)
const ajv = new Ajv({strict: false, allErrors: true, validateFormats: false})
const compiled = new Map<string, ReturnType<Ajv['compile']>>()

/** The schema file of the command an argv names (the longest run of leading words that has one). */
function schemaId(args: string[]): string | undefined {
  const words = args.slice(0, args.findIndex((a) => a.startsWith('-')) === -1 ? args.length : args.findIndex((a) => a.startsWith('-')))
  if (words.length === 0 && args[0] === '--pitr') return undefined
  for (let n = Math.min(words.length, 3); n >= 1; n--) {
    const id = words.slice(0, n).join('-')
    if (existsSync(new URL(`${id}.json`, dir))) return id
  }
  return undefined
}

/** Throws with the schema's complaints when a successful --json result does not match. */
export function checkResult(args: string[], code: number, stdout: string): void {
  if (!args.includes('--json') || code !== 0 || args.includes('apply')) return
  const id = schemaId(args)
  if (!id) return
  let value: unknown
  try {
    value = JSON.parse(stdout)
  } catch {
    return
  }
  if (!compiled.has(id)) compiled.set(id, ajv.compile(JSON.parse(readFileSync(new URL(`${id}.json`, dir), 'utf8')) as object))
  const validate = compiled.get(id)!
  if (!validate(value)) {
    throw new Error(`vaultctl ${args.join(' ')}: the --json result does not match schemas/${id}.json: ${ajv.errorsText(validate.errors, {separator: '; '}).slice(0, 2000)}`)
  }
}
