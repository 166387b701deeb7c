import {describe, expect, it} from 'vitest'
import {formatBytes, parseDuration, parseSize} from '../../src/lib/units.js'

describe('units', () => {
  it('parses durations as seconds', () => {
    expect(parseDuration('30s')).toBe(30)
    expect(parseDuration('15m')).toBe(900)
    expect(parseDuration('24h')).toBe(86_400)
    expect(parseDuration('250ms')).toBe(0.25)
    expect(parseDuration('30')).toBeUndefined()
    expect(parseDuration('1 week')).toBeUndefined()
  })
  it('parses sizes in bytes, binary and decimal', () => {
    expect(parseSize('16MiB')).toBe(16 * 1024 * 1024)
    expect(parseSize('1GB')).toBe(1e9)
    expect(parseSize('512')).toBe(512)
    expect(parseSize('12 parsecs')).toBeUndefined()
  })
  it('formats bytes', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
  })
})
