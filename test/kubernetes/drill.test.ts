// The namespace-deletion drill on the lab's Kubernetes and Velero: the drill's namespace is backed
// up, deleted, restored through Velero, verified, and removed again; the record has the RTO from the
// deletion until the ConfigMaps were back and the RPO as the age of the backup restored.
import {CoreV1Api, KubeConfig} from '@kubernetes/client-node'
import {describe, expect, inject, it} from 'vitest'
import type {DrillRunResult} from '../../src/commands/drill/run.js'
import {labCli} from '../helpers/lab.js'

describe('drill namespace-deletion', () => {
  const dir = inject('kubeLabDir')

  it('deletes its own namespace, restores it with Velero, verifies it, and leaves nothing behind', async () => {
    const r = await labCli(['drill', 'run', 'namespace-deletion', '--yes', '--json', '--timeout', '3m'], dir)
    const res = r.json<DrillRunResult>()
    expect(r.code, r.stderr + JSON.stringify(res.drills[0]?.error ?? res.drills[0]?.execution?.steps.filter((s) => s.status !== 'succeeded'))).toBe(0)
    const d = res.drills[0]!
    const rec = d.record!
    expect(rec).toMatchObject({scenario: 'namespace-deletion', status: 'completed', met: true})
    expect(rec.rtoSeconds).toBeGreaterThan(0)
    expect(rec.rtoSeconds).toBeLessThan(180)
    // The restore came from the backup the drill took just before: its age is the RPO.
    expect(rec.rpoSeconds).toBeGreaterThan(0)
    expect(rec.rpoSeconds).toBeLessThan(120)
    const steps = Object.fromEntries(d.execution!.steps.map((s) => [s.id, s]))
    expect(steps.fault!.result).toMatchObject({deleted: true})
    expect((steps.verify!.result as {verified: string}).verified).toMatch(/^20 ConfigMaps back/)
    expect(steps.cleanup!.status).toBe('succeeded')
    const kc = new KubeConfig()
    kc.loadFromFile(`${dir}/kubernetes/admin.kubeconfig`)
    const core = kc.makeApiClient(CoreV1Api)
    const ns = `vaultctl-drill-${rec.run.toLowerCase()}`
    await expect(core.readNamespace({name: ns})).rejects.toMatchObject({code: 404})
  })
})
