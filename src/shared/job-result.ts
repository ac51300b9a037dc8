// Narrowing a job on its kind, so its result has that kind's type (JobResults) without a cast.
import type { JobDto, JobKind, JobResultOf, JobsByKind } from './dto';

/** True when the job is of this kind: then `job.result` is JobResultOf<kind> | null. */
export function isJobOf<K extends JobKind>(job: JobDto, kind: K): job is JobsByKind[K] {
  return job.kind === kind;
}

/** The job's result when it is a job of this kind and has one (it is done); else null. */
export function jobResult<K extends JobKind>(job: JobDto | null | undefined, kind: K): JobResultOf<K> | null {
  return job && isJobOf(job, kind) ? job.result : null;
}
