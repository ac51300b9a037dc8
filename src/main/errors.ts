import type { ErrorCode } from '../shared/contract';

/** An error meant for the user: its message names the problem; its code travels to the UI. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string, id: number | string) => new AppError('not_found', `${what} ${id} does not exist`);
export const invalid = (message: string) => new AppError('invalid_argument', message);
