/**
 * Image references as the container field reads them (distribution's `reference` grammar and
 * Docker's normalisation, as containerd and the kubelet apply them): `busybox` is
 * `docker.io/library/busybox:latest`; the first path component is a registry when it contains a
 * `.` or a `:` or is `localhost`; a reference may carry a tag, a digest, or both (the digest
 * wins when pulling). A reference that does not parse is the kubelet's `InvalidImageName`.
 */

/** A parsed, normalised image reference. */
export interface ImageRef {
  /** Registry host (and port): `docker.io`, `registry.example.com:5000`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path inside the registry: `library/busybox`, `team/training`. */
  repository: string;
  /** Tag, when given or defaulted (`latest` when neither tag nor digest is given). */
  tag?: string;
  /** `sha256:<64 hex>` when given. */
  digest?: string;
}

/** The registry Docker Hub's references name. */
export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's API lives (`docker.io` names it in references only). */
export const DOCKER_HUB_API = 'registry-1.docker.io';

// distribution/reference's grammar.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]+)?`;
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
/** distribution's limit on a repository name (registry included). */
const NAME_MAX = 255;

/**
 * Parses and normalises `text`; `{ error }` with the reason when it is not a valid reference
 * (the kubelet then reports `InvalidImageName`: `Failed to apply default image tag "…": …`).
 */
export function parseImageRef(text: string): ImageRef | { error: string } {
  if (text === '') return { error: 'the image name is empty' };
  if (text !== text.trim() || /\s/.test(text)) return { error: 'invalid reference format' };
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) return { error: `invalid reference format: digest "${digest}" is not sha256:<64 lowercase hex>` };
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) return { error: `invalid reference format: tag "${tag}"` };
  }
  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    // Docker's legacy name for its hub.
    registry = first === 'index.docker.io' ? DOCKER_HUB : first;
    repository = rest.slice(slash + 1);
    if (!DOMAIN_RE.test(registry)) return { error: `invalid reference format: registry "${registry}"` };
  }
  if (repository !== repository.toLowerCase()) return { error: 'invalid reference format: repository name must be lowercase' };
  if (!PATH_RE.test(repository)) return { error: 'invalid reference format' };
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (`${registry}/${repository}`.length > NAME_MAX) return { error: `repository name must not be more than ${NAME_MAX} characters` };
  const ref: ImageRef = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  else if (digest === undefined) ref.tag = 'latest';
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The full normalised name: `docker.io/library/busybox:latest`, `…@sha256:…`. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The repository's name as `imageID`s carry it: `docker.io/library/busybox`. */
export function repositoryName(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}`;
}
