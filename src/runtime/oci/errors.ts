/**
 * Why a pull failed, as a value the edge renders (the agent maps it to `ErrImagePull`, the CLI to
 * one line). `kind` says what the user can do: fix the name, log in, wait for the network.
 */
export type PullErrorKind =
  | 'InvalidImageName'
  | 'NotFound'
  | 'Unauthorized'
  | 'DigestMismatch'
  | 'NoMatchingPlatform'
  | 'Unsupported'
  | 'Insecure'
  | 'Network'
  | 'Registry';

/** A failed pull. */
export class PullError extends Error {
  constructor(readonly kind: PullErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PullError';
  }
}
