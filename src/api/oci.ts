/**
 * Shapes shared by the layers that build and run OCI containers: the process of a container as
 * the core computes it from its image and its spec, and the input of the core's `config.json`
 * builder, which the `oci` runtime fills with what only it knows (the mounted root file system,
 * the sandbox's namespaces, the resolved user). Types only.
 */

/** What the image's config says about its process (`config` of the OCI image config). */
export interface ImageProcessConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

/** The process of one container, before user names are looked up in the image's files. */
export interface ContainerProcess {
  args: string[];
  /** `NAME=value`, in order. */
  env: string[];
  cwd: string;
  /** The user: a UID, or a name to look up in the image's `/etc/passwd`. */
  user: { uid: number } | { name: string };
  /** The group: a GID, a name to look up in `/etc/group`, or the user's primary group. */
  group?: { gid: number } | { name: string };
}

/** A hook of the OCI runtime (`hooks.poststart[]`): a host command, given the container's state on stdin. */
export interface OciHook {
  path: string;
  args: string[];
}

/** A mount into the container (a volume, or a file the kubelet writes). */
export interface SpecMount {
  destination: string;
  source: string;
  readOnly: boolean;
}

/** A device node given to the container (a GPU). */
export interface SpecDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
}

/** Everything the spec is built from. */
export interface OciSpecInput {
  process: {
    args: string[];
    /** `NAME=value`. */
    env: string[];
    cwd: string;
    uid: number;
    gid: number;
    additionalGids: number[];
    terminal?: boolean;
  };
  /** The mounted root file system (absolute). */
  rootfs: string;
  readonlyRootfs: boolean;
  /**
   * Paths of the sandbox's namespaces to join (`/proc/<pid>/ns/net`); `pid`: the pod's shared
   * one, or an ephemeral container's target's (`/proc/<target's pid>/ns/pid`); absent: a new one.
   */
  namespaces: { network: string; ipc: string; uts: string; pid?: string };
  /** The sandbox's shared `/dev/shm`, when it has one. */
  shm?: string;
  mounts: SpecMount[];
  security: { privileged: boolean; add: string[]; drop: string[]; allowPrivilegeEscalation?: boolean };
  resources: { memoryLimitBytes?: number; cpuMillis?: number };
  devices: SpecDevice[];
  cgroupsPath: string;
  /** The kubelet's per QoS class (BestEffort 1000, Guaranteed -997, Burstable in between). */
  oomScoreAdj?: number;
  annotations?: Record<string, string>;
  /** Host commands the OCI runtime runs once the process started (it reports the start). */
  poststart?: OciHook[];
}
