// Pure parts of provision: the worker On-Demand/Spot split, instance types, Helm 3/4 flags, the
// field diff, quantities, rules and the strict-schema transform.
import {describe, expect, it} from 'vitest'
import {helmUpgradeArgs, shellLine, stuckReleaseFix} from '../../src/lib/provision/apply.js'
import {diffValues} from '../../src/lib/provision/diff.js'
import {deepMerge, workerSplit} from '../../src/lib/provision/inputs.js'
import {instanceTypeProblem} from '../../src/lib/provision/instance-types.js'
import {pointerToPath, strictify} from '../../src/lib/provision/json-schema.js'
import {checkRules, quantity} from '../../src/lib/provision/rules.js'
import {substitute} from '../../src/lib/template.js'

describe('workerSplit', () => {
  it('keeps the On-Demand base and splits the rest by the Spot share', () => {
    expect(workerSplit({minSize: 2, maxSize: 50, desiredCapacity: 6, onDemandBase: 3, spotPercentAboveBase: 50, instanceTypes: ['c6i.4xlarge'], volumeSize: 150}))
      .toEqual({onDemandMin: 2, onDemandMax: 27, onDemandDesired: 4, spotMin: 0, spotMax: 23, spotDesired: 2})
  })
  it('all Spot above a zero base; no Spot at 0%', () => {
    expect(workerSplit({minSize: 1, maxSize: 4, desiredCapacity: 1, onDemandBase: 0, spotPercentAboveBase: 100, instanceTypes: ['t3.xlarge'], volumeSize: 50}))
      .toMatchObject({onDemandMax: 0, spotMax: 4, spotDesired: 1, onDemandDesired: 0})
    expect(workerSplit({minSize: 1, maxSize: 2, desiredCapacity: 1, onDemandBase: 1, spotPercentAboveBase: 0, instanceTypes: ['t3.medium'], volumeSize: 20}))
      .toMatchObject({onDemandMax: 2, spotMax: 0, spotDesired: 0})
  })
})

describe('instanceTypeProblem', () => {
  it('accepts real types and names the problem with others', () => {
    expect(instanceTypeProblem('c6i.2xlarge')).toBeUndefined()
    expect(instanceTypeProblem('r6i.2xlarge')).toBeUndefined()
    expect(instanceTypeProblem('c6i.2xlarg')).toMatch(/c6i comes in large, xlarge/)
    expect(instanceTypeProblem('r6l.xlarge')).toMatch(/unknown EC2 instance type "r6l.xlarge"/)
    expect(instanceTypeProblem('c6i')).toMatch(/unknown/)
  })
})

describe('helmUpgradeArgs', () => {
  const o = {release: 'llm-vault', chart: '/c', namespace: 'ns', values: '/v.yaml', timeout: '10m'}
  it('Helm 3: --atomic --wait', () => {
    expect(shellLine(['helm', ...helmUpgradeArgs(3, o)])).toBe('helm upgrade --install llm-vault /c --namespace ns --create-namespace -f /v.yaml --atomic --wait --timeout 10m')
  })
  it('Helm 4: --rollback-on-failure and a wait strategy (--atomic is deprecated there)', () => {
    const a = helmUpgradeArgs(4, o)
    expect(a).toContain('--rollback-on-failure')
    expect(a).toContain('--wait=watcher')
    expect(a).not.toContain('--atomic')
  })
  it('quotes what the shell would split', () => {
    expect(shellLine(['echo', 'a b', "it's"])).toBe(`echo 'a b' 'it'\\''s'`)
  })
})

describe('stuckReleaseFix', () => {
  const inputs = {helm: {release: 'llm-vault', namespace: 'llm-vault-system', timeout: '10m', values: {}}}
  it('leaves a deployed or absent release alone', () => {
    expect(stuckReleaseFix({status: 'deployed', revision: 3}, inputs, false)).toBeUndefined()
    expect(stuckReleaseFix(undefined, inputs, false)).toBeUndefined()
  })
  it('refuses a pending release (exit 3), naming the fix and how to have it done', () => {
    expect(() => stuckReleaseFix({status: 'pending-upgrade', revision: 4}, inputs, false)).toThrow(/stuck in pending-upgrade \(revision 4\)/)
    try {
      stuckReleaseFix({status: 'pending-upgrade', revision: 4}, inputs, false)
    } catch (error) {
      expect((error as {exit: number}).exit).toBe(3)
      expect((error as {suggestions: string[]}).suggestions[0]).toContain('--recover-stuck (runs: helm rollback llm-vault --namespace llm-vault-system --wait)')
    }
  })
  it('with --recover-stuck: rollback, or uninstall for a first install', () => {
    expect(stuckReleaseFix({status: 'pending-rollback'}, inputs, true)).toEqual(['rollback', 'llm-vault', '--namespace', 'llm-vault-system', '--wait'])
    expect(stuckReleaseFix({status: 'pending-install'}, inputs, true)).toEqual(['uninstall', 'llm-vault', '--namespace', 'llm-vault-system'])
  })
})

describe('diffValues', () => {
  it('names changed fields, matching named lists by name', () => {
    const a = {spec: {containers: [{name: 'api', image: 'a:1'}, {name: 'side', image: 's:1'}]}, x: 1}
    const b = {spec: {containers: [{name: 'side', image: 's:1'}, {name: 'api', image: 'a:2'}]}, y: 2}
    expect(diffValues(a, b)).toEqual([
      {path: 'spec.containers[name=api].image', from: 'a:1', to: 'a:2'},
      {path: 'x', from: 1},
      {path: 'y', to: 2},
    ])
  })
})

describe('rules', () => {
  it('parses quantities', () => {
    expect(quantity('500m')).toBe(0.5)
    expect(quantity('2')).toBe(2)
    expect(quantity('4Gi')).toBe(4 * 1024 ** 3)
    expect(quantity('1e3')).toBeUndefined()
  })
  it('flags a request above its limit, a missing limit and a PDB that blocks eviction', () => {
    const deploy = {kind: 'Deployment', metadata: {name: 'd', namespace: 'n'}, spec: {replicas: 2, template: {metadata: {labels: {app: 'd'}}, spec: {containers: [
      {name: 'c', resources: {requests: {cpu: '2', memory: '1Gi'}, limits: {cpu: '1'}}}]}}}}
    const pdb = {kind: 'PodDisruptionBudget', metadata: {name: 'p', namespace: 'n'}, spec: {minAvailable: 2, selector: {matchLabels: {app: 'd'}}}}
    expect(checkRules([deploy, pdb]).map((f) => f.path)).toEqual([
      'Deployment n/d: spec.template.spec.containers[0].resources.requests.cpu',
      'Deployment n/d: spec.template.spec.containers[0].resources.limits.memory',
      'PodDisruptionBudget n/p: spec.minAvailable',
    ])
  })
})

describe('templates and schemas', () => {
  it('substitutes whole-scalar fields with typed values and refuses a missing one', () => {
    expect(substitute({a: '${x.n}', b: ['${x.l}'], c: 'literal ${x.n}'}, {x: {n: 3, l: ['p']}})).toEqual({a: 3, b: [['p']], c: 'literal ${x.n}'})
    expect(() => substitute({a: '${x.missing}'}, {x: {}})).toThrow(/\$\{x.missing\} at a has no value/)
  })
  it('strictify closes objects that list their properties, keeping property names intact', () => {
    const s = strictify({definitions: {A: {properties: {properties: {type: 'string'}, b: {properties: {c: {}}}}}}}) as {definitions: {A: Record<string, any>}} // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(s.definitions.A.additionalProperties).toBe(false)
    expect(s.definitions.A.properties.properties).toEqual({type: 'string'})
    expect(s.definitions.A.properties.b.additionalProperties).toBe(false)
  })
  it('JSON pointers become readable paths', () => {
    expect(pointerToPath('/managedNodeGroups/1', 'desiredCapasity')).toBe('managedNodeGroups[1].desiredCapasity')
    expect(pointerToPath('')).toBe('(top level)')
  })
  it('deepMerge merges objects and replaces lists', () => {
    expect(deepMerge({a: {b: 1, c: [1, 2]}, d: 1}, {a: {c: [3]}, e: 2})).toEqual({a: {b: 1, c: [3]}, d: 1, e: 2})
  })
})
