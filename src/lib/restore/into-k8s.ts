// `restore pitr --into cluster` for Patroni in a Kubernetes StatefulSet: the architecture's runbook
// (8.3) done right. Planned and printed now; executing it needs the lab's Kubernetes API, so the
// plan carries a precondition that refuses to run it (the operator can follow it by hand).
import {dirname} from 'node:path'
import {usageError} from '../errors.js'
import type {Plan, Step} from '../plan/types.js'
import {describeTarget, type RecoveryTarget} from './target.js'
import {targetSlug} from './pitr.js'

export type StatefulSetTarget = {
  cluster: string
  namespace: string
  statefulSet: string
  container: string
  replicas: number
  volumeClaimTemplate: string
  dataDir: string
  image: string
  user: string
}

function targetFlag(t: RecoveryTarget): string {
  return t.kind === 'time' ? `--target-time ${t.time.toISOString()}` : t.kind === 'lsn' ? `--target-lsn ${t.lsn}` : '--latest'
}

const notYet = (): never => {
  throw usageError('NOT_AVAILABLE', 'executing Kubernetes steps needs a Kubernetes API in the lab, which vaultctl does not drive yet')
}

/** The restore pod: mounts pod 0's volume, restores beside the data directory, stops the instance, swaps (old data kept). */
export function restorePodManifest(k: StatefulSetTarget, env: string, target: RecoveryTarget, verifySql?: string): string {
  const slug = targetSlug(target)
  const restored = `${k.dataDir}.restore-${slug}`
  const script = [
    `vaultctl restore pitr --into side --env ${env} ${targetFlag(target)} --data-dir ${restored} --yes${verifySql ? ` --verify-sql ${JSON.stringify(verifySql)}` : ''}`,
    `pg_ctl -D ${restored} stop -m fast`,
    `sed -i '/^# --- vaultctl restore pitr/,$d' ${restored}/postgresql.auto.conf`,
    `mv ${k.dataDir} ${k.dataDir}.pre-restore-${slug}`,
    `mv ${restored} ${k.dataDir}`,
  ].join(' && ')
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {name: `${k.statefulSet}-pitr-restore`, namespace: k.namespace, labels: {'app.kubernetes.io/managed-by': 'vaultctl'}},
    spec: {
      restartPolicy: 'Never',
      securityContext: {runAsUser: 999, runAsGroup: 999, fsGroup: 999, runAsNonRoot: true},
      containers: [{name: 'restore', image: k.image, command: ['sh', '-c', script],
        volumeMounts: [{name: 'pgdata', mountPath: dirname(k.dataDir)}]}],
      volumes: [{name: 'pgdata', persistentVolumeClaim: {claimName: `${k.volumeClaimTemplate}-${k.statefulSet}-0`}}],
    },
  }
  return JSON.stringify(pod)
}

export function planIntoStatefulSet(k: StatefulSetTarget, env: {name: string; protected: boolean}, target: RecoveryTarget, verifySql?: string): Plan {
  const kc = `kubectl -n ${k.namespace}`
  const pod0 = `${k.statefulSet}-0`
  const exec = (cmd: string) => `${kc} exec ${pod0} -c ${k.container} -- ${cmd}`
  const pods = Array.from({length: k.replicas}, (_, i) => `pod/${k.statefulSet}-${i}`)
  const slug = targetSlug(target)
  const step = (id: string, title: string, risk: Step['risk'], manual: string): Step => ({id, title, risk, manual, run: async () => notYet()})
  const steps: Step[] = [
    step('pause', `pause Patroni on cluster ${k.cluster}`, 'write', exec('patronictl pause --wait')),
    step('scale-down', `scale StatefulSet ${k.statefulSet} to 0 and wait until its pods are gone: the outage starts here`, 'destructive',
      `${kc} scale statefulset ${k.statefulSet} --replicas=0 && ${kc} wait --for=delete ${pods.join(' ')} --timeout=5m`),
    step('restore-pod', `restore ${describeTarget(target)} beside the data directory on ${k.volumeClaimTemplate}-${pod0}, verify it, swap it in (old data kept in ${k.dataDir}.pre-restore-${slug})`, 'destructive',
      `${kc} apply -f - <<'EOF'\n${restorePodManifest(k, env.name, target, verifySql)}\nEOF\n${kc} wait --for=jsonpath='{.status.phase}'=Succeeded pod/${k.statefulSet}-pitr-restore --timeout=30m && ${kc} logs pod/${k.statefulSet}-pitr-restore && ${kc} delete pod ${k.statefulSet}-pitr-restore`),
    step('scale-one', `scale StatefulSet ${k.statefulSet} to 1 (only ${pod0}, on the restored volume)`, 'write',
      `${kc} scale statefulset ${k.statefulSet} --replicas=1 && ${kc} wait --for=jsonpath='{.status.phase}'=Running pod/${pod0} --timeout=5m`),
    step('start-leader', `start PostgreSQL on ${pod0} through Patroni (paused clusters do not start it by themselves)`, 'write',
      exec(`patronictl restart ${k.cluster} ${pod0} --force`)),
    step('verify', `verify ${pod0}: writable on a new timeline${verifySql ? ', --verify-sql' : ''}`, 'read',
      exec(`psql -U ${k.user} -c "select pg_is_in_recovery(), txid_current(), timeline_id from pg_control_checkpoint()"${verifySql ? ` -c ${JSON.stringify(verifySql)}` : ''}`)),
    step('resume', `resume Patroni on cluster ${k.cluster}`, 'write', exec('patronictl resume --wait')),
    step('scale-up', `scale StatefulSet ${k.statefulSet} back to ${k.replicas}`, 'write',
      `${kc} scale statefulset ${k.statefulSet} --replicas=${k.replicas} && ${kc} rollout status statefulset ${k.statefulSet} --timeout=15m`),
    ...Array.from({length: k.replicas - 1}, (_, i) => step(`reinit-${k.statefulSet}-${i + 1}`, `reinitialise replica ${k.statefulSet}-${i + 1} from the new leader`, 'destructive',
      exec(`patronictl reinit ${k.cluster} ${k.statefulSet}-${i + 1} --force --wait`))),
    step('finish', `the old data stays on ${k.volumeClaimTemplate}-${pod0} in ${k.dataDir}.pre-restore-${slug} until removed`, 'read',
      `# when satisfied: ${exec(`rm -rf ${k.dataDir}.pre-restore-${slug}`)}`),
  ]
  return {
    command: 'restore pitr', env: env.name, protected: env.protected, confirmOnProtected: true,
    summary: `replace the data of ${k.cluster} (StatefulSet ${k.namespace}/${k.statefulSet}) with its state at ${describeTarget(target)}`,
    observed: {statefulSet: `${k.namespace}/${k.statefulSet}`, replicas: k.replicas, volume: `${k.volumeClaimTemplate}-${pod0}`},
    preconditions: [{
      id: 'kubernetes-api', description: 'a Kubernetes API that vaultctl drives (the lab has none yet)',
      async check() {
        return {ok: false, detail: 'vaultctl does not run Kubernetes steps yet: this plan is printed for an operator to follow',
          suggestions: ['Run the plan\'s commands by hand (`--dry-run` prints them), or restore --into side.']}
      },
    }],
    steps,
  }
}
