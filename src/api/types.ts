/**
 * Kubernetes core/v1 Pod types: the subset podvisor supports now or soon.
 *
 * Field names and shapes mirror kubernetes/api `core/v1/types.go` so that every manifest
 * podvisor accepts is a valid Kubernetes 1.36 Pod (spec D11). Optional fields are optional
 * here exactly when they are optional on the wire; defaulting (`defaults.ts`) fills the
 * ones the API server fills.
 */

/** Pod-level restart policy (`spec.restartPolicy`). */
export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';
/** Container-level restart policy (`spec.containers[i].restartPolicy`), KEP-5307. */
export type ContainerRestartPolicy = 'Always' | 'OnFailure' | 'Never';
/** Action of a container restart rule (`restartPolicyRules[j].action`). */
export type ContainerRestartRuleAction = 'Restart' | 'RestartAllContainers';
/** Operator of a rule's exit-code condition. */
export type ContainerRestartRuleOnExitCodesOperator = 'In' | 'NotIn';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ExecAction {
  command?: string[];
}

export interface HTTPHeader {
  name: string;
  value: string;
}

export interface HTTPGetAction {
  path?: string;
  /** A port number or the name of a container port. */
  port: number | string;
  host?: string;
  scheme?: 'HTTP' | 'HTTPS';
  httpHeaders?: HTTPHeader[];
}

export interface TCPSocketAction {
  port: number | string;
  host?: string;
}

export interface Probe {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export interface LifecycleHandler {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  sleep?: { seconds: number };
}

export interface Lifecycle {
  postStart?: LifecycleHandler;
  preStop?: LifecycleHandler;
}

/** Selects a field of the pod (`fieldRef`): `apiVersion` defaults to `v1`. */
export interface ObjectFieldSelector {
  apiVersion?: string;
  fieldPath: string;
}

/** Selects a resource of a container (`resourceFieldRef`); a zero or absent `divisor` means 1. */
export interface ResourceFieldSelector {
  /** Required in a downwardAPI volume; in `env` it defaults to the container itself. */
  containerName?: string;
  resource: string;
  divisor?: Quantity;
}

/** Selects a key of a ConfigMap (`configMapKeyRef`); `name` is effectively required. */
export interface ConfigMapKeySelector {
  name?: string;
  key: string;
  optional?: boolean;
}

/** Selects a key of a Secret (`secretKeyRef`); `name` is effectively required. */
export interface SecretKeySelector {
  name?: string;
  key: string;
  optional?: boolean;
}

/** The source of an env var's value (`env[].valueFrom`); exactly one member is set. */
export interface EnvVarSource {
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: ResourceFieldSelector;
  configMapKeyRef?: ConfigMapKeySelector;
  secretKeyRef?: SecretKeySelector;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: EnvVarSource;
}

/** A ConfigMap whose keys all become env vars (`envFrom[].configMapRef`). */
export interface ConfigMapEnvSource {
  name?: string;
  optional?: boolean;
}

/** A Secret whose keys all become env vars (`envFrom[].secretRef`). */
export interface SecretEnvSource {
  name?: string;
  optional?: boolean;
}

/** One `envFrom` entry: exactly one of `configMapRef` and `secretRef`, each key prefixed by `prefix`. */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: ConfigMapEnvSource;
  secretRef?: SecretEnvSource;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  hostIP?: string;
}

/** Quantities are kept as the strings (or numbers) the manifest gave. */
export type Quantity = string | number;

export interface ResourceRequirements {
  limits?: Record<string, Quantity>;
  requests?: Record<string, Quantity>;
}

export interface ContainerRestartRuleOnExitCodes {
  operator: ContainerRestartRuleOnExitCodesOperator;
  values?: number[];
}

export interface ContainerRestartRule {
  action: ContainerRestartRuleAction;
  exitCodes?: ContainerRestartRuleOnExitCodes;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envFrom?: EnvFromSource[];
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  resources?: ResourceRequirements;
  ports?: ContainerPort[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: Lifecycle;
  restartPolicy?: ContainerRestartPolicy;
  restartPolicyRules?: ContainerRestartRule[];
  terminationMessagePath?: string;
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Keep the container's stdin open for attach (`kubectl attach -i`, `run -i`). */
  stdin?: boolean;
  /** Close the container's stdin when the first attach that used it ends. */
  stdinOnce?: boolean;
  /** Run the container's command on a terminal (its stdin too, with `stdin`). */
  tty?: boolean;
  /** Applied by the `oci` runtime (user, groups, capabilities, privileged, read-only root, no new privileges). */
  securityContext?: SecurityContext;
}

/** An ephemeral container has the container fields plus the name of the container it targets. */
export interface EphemeralContainer extends Container {
  targetContainerName?: string;
}

export interface EmptyDirVolumeSource {
  medium?: '' | 'Memory';
  sizeLimit?: Quantity;
}

export interface HostPathVolumeSource {
  path: string;
  type?: string;
}

/** Maps a key of a ConfigMap or Secret to a file of the volume (`items[]`); `mode` 0–0777. */
export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** A `configMap` volume; `defaultMode` is defaulted to 0644. */
export interface ConfigMapVolumeSource {
  name?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

/** A `secret` volume; `defaultMode` is defaulted to 0644. */
export interface SecretVolumeSource {
  secretName?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

/** One file of a downwardAPI volume or projection: exactly one of `fieldRef` and `resourceFieldRef`. */
export interface DownwardAPIVolumeFile {
  path: string;
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: ResourceFieldSelector;
  mode?: number;
}

/** A `downwardAPI` volume; `defaultMode` is defaulted to 0644. */
export interface DownwardAPIVolumeSource {
  items?: DownwardAPIVolumeFile[];
  defaultMode?: number;
}

/** A ConfigMap projected into a `projected` volume. */
export interface ConfigMapProjection {
  name?: string;
  items?: KeyToPath[];
  optional?: boolean;
}

/** A Secret projected into a `projected` volume. */
export interface SecretProjection {
  name?: string;
  items?: KeyToPath[];
  optional?: boolean;
}

/** Downward API files projected into a `projected` volume. */
export interface DownwardAPIProjection {
  items?: DownwardAPIVolumeFile[];
}

/**
 * One source of a `projected` volume. podvisor models `configMap`, `secret` and `downwardAPI`;
 * `serviceAccountToken`, `clusterTrustBundle` and `podCertificate` are refused by the decoder.
 */
export interface VolumeProjection {
  configMap?: ConfigMapProjection;
  secret?: SecretProjection;
  downwardAPI?: DownwardAPIProjection;
}

/** A `projected` volume; `defaultMode` is defaulted to 0644. */
export interface ProjectedVolumeSource {
  sources?: VolumeProjection[];
  defaultMode?: number;
}

/** A pod volume: its name and exactly one source. */
export interface Volume {
  name: string;
  emptyDir?: EmptyDirVolumeSource;
  hostPath?: HostPathVolumeSource;
  secret?: SecretVolumeSource;
  downwardAPI?: DownwardAPIVolumeSource;
  configMap?: ConfigMapVolumeSource;
  projected?: ProjectedVolumeSource;
}

export interface PodReadinessGate {
  conditionType: string;
}

export interface PodSpec {
  restartPolicy?: RestartPolicy;
  terminationGracePeriodSeconds?: number;
  activeDeadlineSeconds?: number;
  initContainers?: Container[];
  containers: Container[];
  ephemeralContainers?: EphemeralContainer[];
  volumes?: Volume[];
  shareProcessNamespace?: boolean;
  /** Applied by the `oci` runtime (`runAsUser`, `runAsGroup`, `runAsNonRoot`, `supplementalGroups`). */
  securityContext?: PodSecurityContext;
  readinessGates?: PodReadinessGate[];
  hostname?: string;
  nodeName?: string;
  /** The service account the pod runs as (`default`); shown to the pod through the downward API. */
  serviceAccountName?: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface PodCondition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

export interface ContainerStateWaiting {
  reason?: string;
  message?: string;
}

export interface ContainerStateRunning {
  startedAt?: string;
}

export interface ContainerStateTerminated {
  exitCode: number;
  signal?: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}

/** Exactly one member is set (or none, for an empty `lastState`). */
export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: ContainerStateRunning;
  terminated?: ContainerStateTerminated;
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodIP {
  ip: string;
}

export interface PodStatus {
  phase?: PodPhase;
  reason?: string;
  message?: string;
  conditions?: PodCondition[];
  hostIP?: string;
  hostIPs?: PodIP[];
  podIP?: string;
  podIPs?: PodIP[];
  startTime?: string;
  /** `Guaranteed`, `Burstable` or `BestEffort` (computed from the containers' resources). */
  qosClass?: 'Guaranteed' | 'Burstable' | 'BestEffort';
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
  ephemeralContainerStatuses?: ContainerStatus[];
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}

/** A `kind: List` (or `PodList`) document. */
export interface PodList {
  apiVersion: 'v1';
  kind: 'List' | 'PodList';
  metadata?: { resourceVersion?: string };
  items: Pod[];
}

/** The podvisor-owned annotation prefix (spec D11). */
export const PODVISOR_ANNOTATION_PREFIX = 'podvisor.io/';

// ---------------------------------------------------------------------------------------------
// Kubernetes fields podvisor does not model (spec D11).
//
// The decoder type-checks them against these shapes, the API server's rules are applied to
// them (`validateUnmodelledFields`), and they are then dropped from the decoded Pod with the
// warning `<path>: not supported by podvisor, ignored`. Every member is optional: a decoded
// value has the declared JSON types but may miss fields the API requires.
// ---------------------------------------------------------------------------------------------

/** `OwnerReference` (meta/v1). */
export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** `ManagedFieldsEntry` (meta/v1); `fieldsV1` is an opaque JSON value. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

/** `Toleration`. */
export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface SELinuxOptions {
  user?: string;
  role?: string;
  type?: string;
  level?: string;
}

export interface SeccompProfile {
  type?: string;
  localhostProfile?: string;
}

export interface AppArmorProfile {
  type?: string;
  localhostProfile?: string;
}

export interface WindowsSecurityContextOptions {
  gmsaCredentialSpecName?: string;
  gmsaCredentialSpec?: string;
  runAsUserName?: string;
  hostProcess?: boolean;
}

export interface Sysctl {
  name?: string;
  value?: string;
}

/** `PodSecurityContext` (`spec.securityContext`). */
export interface PodSecurityContext {
  seLinuxOptions?: SELinuxOptions;
  windowsOptions?: WindowsSecurityContextOptions;
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  supplementalGroups?: number[];
  supplementalGroupsPolicy?: string;
  fsGroup?: number;
  sysctls?: Sysctl[];
  fsGroupChangePolicy?: string;
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
  seLinuxChangePolicy?: string;
}

export interface Capabilities {
  add?: string[];
  drop?: string[];
}

/** Container `SecurityContext`. */
export interface SecurityContext {
  capabilities?: Capabilities;
  privileged?: boolean;
  seLinuxOptions?: SELinuxOptions;
  windowsOptions?: WindowsSecurityContextOptions;
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  procMount?: string;
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
}

/** `ContainerResizePolicy`. */
export interface ContainerResizePolicy {
  resourceName?: string;
  restartPolicy?: string;
}

/** `NodeSelectorRequirement`, also used for `matchFields`. */
export interface NodeSelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface NodeSelector {
  nodeSelectorTerms?: NodeSelectorTerm[];
}

export interface PreferredSchedulingTerm {
  weight?: number;
  preference?: NodeSelectorTerm;
}

export interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
  preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
}

/** `LabelSelectorRequirement` (meta/v1). */
export interface LabelSelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

/** `LabelSelector` (meta/v1). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  topologyKey?: string;
  namespaceSelector?: LabelSelector;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}

export interface WeightedPodAffinityTerm {
  weight?: number;
  podAffinityTerm?: PodAffinityTerm;
}

/** `PodAffinity` and `PodAntiAffinity` have the same shape. */
export interface PodAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

export interface Affinity {
  nodeAffinity?: NodeAffinity;
  podAffinity?: PodAffinity;
  podAntiAffinity?: PodAffinity;
}

export interface TopologySpreadConstraint {
  maxSkew?: number;
  topologyKey?: string;
  whenUnsatisfiable?: string;
  labelSelector?: LabelSelector;
  minDomains?: number;
  nodeAffinityPolicy?: string;
  nodeTaintsPolicy?: string;
  matchLabelKeys?: string[];
}

export interface HostAlias {
  ip?: string;
  hostnames?: string[];
}

export interface PodDNSConfigOption {
  name?: string;
  value?: string;
}

export interface PodDNSConfig {
  nameservers?: string[];
  searches?: string[];
  options?: PodDNSConfigOption[];
}

export interface PodOS {
  name?: string;
}

export interface PodSchedulingGate {
  name?: string;
}

export interface LocalObjectReference {
  name?: string;
}

/** Pod-level `resources` (`ResourceRequirements`; `claims` are forbidden at pod level). */
export interface PodResourceRequirements extends ResourceRequirements {
  claims?: { name?: string; request?: string }[];
}

/** The unmodelled fields of `metadata`. */
export interface UnmodelledObjectMeta {
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  selfLink?: string;
}

/** The unmodelled fields of `spec`. */
export interface UnmodelledPodSpec {
  dnsPolicy?: string;
  nodeSelector?: Record<string, string>;
  serviceAccountName?: string;
  /** Deprecated alias of `serviceAccountName`. */
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  /** Modelled in {@link PodSpec}; here for the validation rules that read the unmodelled view. */
  securityContext?: PodSecurityContext;
  imagePullSecrets?: LocalObjectReference[];
  subdomain?: string;
  affinity?: Affinity;
  schedulerName?: string;
  tolerations?: Toleration[];
  hostAliases?: HostAlias[];
  priorityClassName?: string;
  priority?: number;
  dnsConfig?: PodDNSConfig;
  runtimeClassName?: string;
  enableServiceLinks?: boolean;
  preemptionPolicy?: string;
  overhead?: Record<string, Quantity>;
  topologySpreadConstraints?: TopologySpreadConstraint[];
  setHostnameAsFQDN?: boolean;
  os?: PodOS;
  hostUsers?: boolean;
  schedulingGates?: PodSchedulingGate[];
  resources?: PodResourceRequirements;
  hostnameOverride?: string;
  /** Shape not modelled: any JSON object is accepted. */
  schedulingGroup?: Record<string, unknown>;
}

/** The unmodelled fields of a container (regular, init or ephemeral). */
export interface UnmodelledContainer {
  /** Modelled in {@link Container}; here for the validation rules that read the unmodelled view. */
  securityContext?: SecurityContext;
  resizePolicy?: ContainerResizePolicy[];
}

/**
 * The unmodelled fields of one decoded pod, as the decoder type-checked them. Container lists
 * are index-aligned with the pod's `spec.containers`, `spec.initContainers` and
 * `spec.ephemeralContainers` (an empty object where a container has none).
 */
export interface UnmodelledFields {
  metadata: UnmodelledObjectMeta;
  spec: UnmodelledPodSpec;
  containers: UnmodelledContainer[];
  initContainers: UnmodelledContainer[];
  ephemeralContainers: UnmodelledContainer[];
}
