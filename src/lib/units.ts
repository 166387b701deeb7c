// Durations ("30s", "15m", "24h") and sizes ("16MiB") as people write them in config.
const durationUnits: Record<string, number> = {ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400}
const sizeUnits: Record<string, number> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
}

/** Seconds in a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim())
  if (!m) return undefined
  return Number(m[1]) * durationUnits[m[2]!]!
}

/** Bytes in a size string ("16MiB", "1GB", "512"), or undefined. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/.exec(text.trim())
  if (!m) return undefined
  return Math.round(Number(m[1]) * sizeUnits[m[2] ?? 'B']!)
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`
  return `${Math.floor(seconds / 3600)}h${Math.round((seconds % 3600) / 60)}m`
}
