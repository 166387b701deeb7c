// Typed flags for numbers, durations, sizes, ports and instants, checked when the command line is
// parsed: a bad value exits 2 naming the flag and the accepted form, before any work is done.
import {Flags} from '@oclif/core'
import {usageError} from './errors.js'
import {formatDuration, parseDuration, parseSize} from './units.js'

type Common = {description: string; helpGroup?: string}

const bad = (flag: string, input: string, expected: string, example: string) =>
  usageError('BAD_FLAG_VALUE', `--${flag} ${JSON.stringify(input)}: expected ${expected}`, [`e.g. --${flag} ${example}`])

/** A duration in seconds ("90s", "15m", "26h", "7d"), strictly positive unless `min` allows 0. */
export const durationFlag = (o: Common & {default: string; min?: number; max?: number}) => Flags.custom<number>({
  description: o.description,
  ...(o.helpGroup ? {helpGroup: o.helpGroup} : {}),
  multiple: false,
  helpValue: 'DURATION',
  default: parseDuration(o.default)!,
  defaultHelp: async () => o.default,
  async parse(input, _ctx, opts) {
    const s = parseDuration(input)
    const min = o.min ?? 0
    if (s === undefined || s < min || (min === 0 && s === 0)) throw bad(opts.name, input, `a ${min === 0 ? 'positive ' : ''}duration: a number and a unit (ms, s, m, h, d)${min > 0 ? ` of at least ${formatDuration(min)}` : ''}`, o.default)
    if (o.max !== undefined && s > o.max) throw bad(opts.name, input, `a duration of at most ${formatDuration(o.max)}`, o.default)
    return s
  },
})()

type IntOpts = Common & {min: number; max?: number; helpValue?: string; example?: number}

function parseInt_(o: IntOpts, name: string, input: string, example: number): number {
  const n = /^[+-]?\d+$/.test(input.trim()) ? Number(input) : Number.NaN
  const range = o.max === undefined ? `${o.min} or more` : `from ${o.min} to ${o.max}`
  if (!Number.isSafeInteger(n) || n < o.min || (o.max !== undefined && n > o.max)) throw bad(name, input, `a whole number ${range}`, String(example))
  return n
}

/** A whole number in [min, max], with a default. */
export const intFlag = (o: IntOpts & {default: number}) => Flags.custom<number>({
  description: o.description,
  ...(o.helpGroup ? {helpGroup: o.helpGroup} : {}),
  multiple: false,
  helpValue: o.helpValue ?? 'N',
  default: o.default,
  async parse(input, _ctx, opts) {
    return parseInt_(o, opts.name, input, o.default)
  },
})()

/** A whole number in [min, max], or nothing. */
export const optionalIntFlag = (o: IntOpts) => Flags.custom<number>({
  description: o.description,
  ...(o.helpGroup ? {helpGroup: o.helpGroup} : {}),
  multiple: false,
  helpValue: o.helpValue ?? 'N',
  async parse(input, _ctx, opts) {
    return parseInt_(o, opts.name, input, o.example ?? o.min)
  },
})()

/** A TCP port, 1-65535. */
export const portFlag = (o: Common) => optionalIntFlag({...o, min: 1, max: 65_535, helpValue: 'PORT', example: 15_432})

/** A size in bytes ("16MiB", "1GB", "512"). */
export const sizeFlag = (o: Common & {default?: string}) => Flags.custom<number>({
  description: o.description,
  ...(o.helpGroup ? {helpGroup: o.helpGroup} : {}),
  multiple: false,
  helpValue: 'SIZE',
  ...(o.default === undefined ? {} : {default: async () => parseSize(o.default!)!}),
  async parse(input, _ctx, opts) {
    const n = parseSize(input)
    if (n === undefined) throw bad(opts.name, input, 'a size: a number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB)', '16MiB')
    return n
  },
})()

/** An instant written with its UTC offset; a time without one is ambiguous and refused. */
export function parseInstant(flag: string, input: string): Date {
  const d = new Date(input.trim().replace(' ', 'T'))
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(input.trim()) || Number.isNaN(d.getTime())) {
    throw usageError('AMBIGUOUS_TIME', `--${flag} ${JSON.stringify(input)}: expected an ISO 8601 time with its UTC offset`, [`e.g. --${flag} 2026-11-27T14:30:00Z or --${flag} 2026-11-27T15:30:00+01:00`])
  }
  return d
}

export const instantFlag = (o: Common) => Flags.custom<Date>({
  description: o.description,
  ...(o.helpGroup ? {helpGroup: o.helpGroup} : {}),
  multiple: false,
  helpValue: 'TIME',
  async parse(input, _ctx, opts) {
    return parseInstant(opts.name, input)
  },
})()

/** oclif prefixes errors thrown while parsing a flag ("Parsing --x \n\t..."): keep our own message. */
export function unwrapFlagError(message: string): string {
  return message.replace(/^Parsing --\S+\s*\n\t/, '').replace(/\nSee more help with --help$/, '')
}

/** A repeatable, comma-separated list flag's values, flattened and trimmed. */
export const commaList = (xs: string[] | undefined): string[] => (xs ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)
