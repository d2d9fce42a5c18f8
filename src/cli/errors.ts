/**
 * Errors a user can cause (bad option, not root, device busy): one clear line and a non-zero
 * exit, never a stack trace. Anything else is a bug and is reported with its stack.
 */
export class UserError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Turns the system errors users typically cause into one readable sentence. */
export function describeSystemError(error: unknown, what: string): UserError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return new UserError(`${what}: permission denied (${message}); run as root or with CAP_NET_ADMIN`, 1);
    case 'EBUSY':
      return new UserError(`${what}: the device is busy (${message}); another process holds it`, 1);
    case 'ENOENT':
      return new UserError(`${what}: ${message}`, 1);
    case 'ENODEV':
      return new UserError(`${what}: no such device (${message})`, 1);
    case 'EINVAL':
      return new UserError(`${what}: invalid argument (${message})`, 1);
    default:
      return undefined;
  }
}
