// S3 Batch Operations through @aws-sdk/client-s3-control (imported lazily): create a copy job,
// find an active one, describe it. Only AWS serves this API (MinIO and moto do not).
import type {S3ControlClient} from '@aws-sdk/client-s3-control'

export type ControlConn = {region: string; endpoint?: string; accessKeyId?: string; secretAccessKey?: string}

export async function s3ControlClient(c: ControlConn): Promise<S3ControlClient> {
  const {S3ControlClient} = await import('@aws-sdk/client-s3-control')
  return new S3ControlClient({region: c.region, ...(c.endpoint ? {endpoint: c.endpoint} : {}), maxAttempts: 8, retryMode: 'adaptive',
    ...(c.accessKeyId && c.secretAccessKey ? {credentials: {accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey}} : {})})
}

const ACTIVE = ['Active', 'New', 'Preparing', 'Ready', 'Suspended', 'Pausing', 'Paused', 'Completing', 'Cancelling', 'Failing'] as const

/** Jobs not yet finished whose description starts with `prefix`. */
export async function activeJobs(client: S3ControlClient, accountId: string, prefix: string): Promise<{id: string; description: string; status: string}[]> {
  const {paginateListJobs} = await import('@aws-sdk/client-s3-control')
  const out: {id: string; description: string; status: string}[] = []
  for await (const page of paginateListJobs({client}, {AccountId: accountId, JobStatuses: [...ACTIVE]})) {
    for (const j of page.Jobs ?? []) if (j.JobId && j.Description?.startsWith(prefix)) out.push({id: j.JobId, description: j.Description, status: String(j.Status)})
  }
  return out
}

export async function createJob(client: S3ControlClient, input: Record<string, unknown>): Promise<string> {
  const {CreateJobCommand} = await import('@aws-sdk/client-s3-control')
  const r = await client.send(new CreateJobCommand(input as never))
  return r.JobId!
}

export type JobState = {status: string; total: number; succeeded: number; failed: number; reason?: string}

export async function describeJob(client: S3ControlClient, accountId: string, jobId: string): Promise<JobState> {
  const {DescribeJobCommand} = await import('@aws-sdk/client-s3-control')
  const {Job} = await client.send(new DescribeJobCommand({AccountId: accountId, JobId: jobId}))
  const p = Job?.ProgressSummary
  return {status: String(Job?.Status ?? 'unknown'), total: p?.TotalNumberOfTasks ?? 0, succeeded: p?.NumberOfTasksSucceeded ?? 0, failed: p?.NumberOfTasksFailed ?? 0,
    ...(Job?.FailureReasons?.length ? {reason: Job.FailureReasons.map((f) => `${f.FailureCode}: ${f.FailureReason}`).join('; ')} : {})}
}
