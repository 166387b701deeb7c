// A status row: one thing an operator looks at, rated against the environment's SLO thresholds.
export type Rating = 'ok' | 'warn' | 'crit'

export type StatusRow = {
  component: 'postgres' | 'redis' | 's3' | 'prometheus' | 'kubernetes'
  name: string
  role?: string
  state: string
  rating: Rating
  detail: string
  /** Typed facts behind the row (lag, timeline, slots...), for --json consumers. */
  facts?: Record<string, unknown>
}

export const worst = (ratings: Rating[]): Rating => (ratings.includes('crit') ? 'crit' : ratings.includes('warn') ? 'warn' : 'ok')

export const rateAgainst = (value: number, t: {warn: number; crit: number}): Rating => (value >= t.crit ? 'crit' : value >= t.warn ? 'warn' : 'ok')
