// Which member of a stopped lab starts first: the most advanced, so that it leads and nobody is
// rewound. Fed with pg_controldata output recorded from the lab after `lab down`.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {memberPosition, startOrder} from '../../src/lib/lab/start-order.js'

const controldata = (m: number) => Object.fromEntries(readFileSync(new URL(`../fixtures/controldata/pg-${m}.txt`, import.meta.url), 'utf8')
  .split('\n').map((l) => /^([^:]+):\s+(.*)$/.exec(l)).filter((x) => x !== null).map((x) => [x[1]!.trim(), x[2]!.trim()]))

describe('lab start order', () => {
  it('starts the member that was shut down as leader first (recorded: pg-2 led timeline 4)', () => {
    const c = new Map([1, 2, 3].map((m) => [m, controldata(m)]))
    expect(memberPosition(2, controldata(2))).toMatchObject({timeline: 4, wasPrimary: true})
    expect(memberPosition(1, controldata(1))).toMatchObject({timeline: 4, wasPrimary: false})
    expect(startOrder([1, 2, 3], c)).toEqual([2, 1, 3])
  })
  it('prefers a newer timeline over a further WAL position on an older one', () => {
    const c = new Map<number, Record<string, string> | undefined>([
      [1, {'Database cluster state': 'shut down', 'Latest checkpoint location': '0/9000028', "Latest checkpoint's TimeLineID": '2'}],
      [2, {'Database cluster state': 'shut down in recovery', 'Latest checkpoint location': '0/7000028', "Latest checkpoint's TimeLineID": '2', 'Minimum recovery ending location': '0/8000000', "Min recovery ending loc's timeline": '3'}],
      [3, undefined],
    ])
    expect(startOrder([1, 2, 3], c)).toEqual([2, 1, 3])
  })
  it('keeps the given order when nothing can be read (a new lab)', () => {
    expect(startOrder([1, 2, 3], new Map())).toEqual([1, 2, 3])
  })
})
